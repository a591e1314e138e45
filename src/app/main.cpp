// medvqa: medical visual question answering (ViT + Q-Former + BLOOM), one executable.
#include <c10/util/Exception.h>

#include <iostream>
#include <vector>

#include "app/commands.h"
#include "io/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "medvqa: answers questions about radiology images with a vision-language model\n"
      "(BiomedCLIP-style ViT + BLIP-2 Q-Former + BLOOM, after Ha et al., Clinical NLP 2024).\n"
      "Research software: answers are machine-generated and not for clinical use."};
  app.require_subcommand(1);
  const std::vector<medvqa::app::Command> commands = {
      medvqa::app::add_ask(app),
      medvqa::app::add_inspect(app),
      medvqa::app::add_convert(app),
      medvqa::app::add_create_model(app),
      medvqa::app::add_tokenizer(app),
      medvqa::app::add_train(app),
      medvqa::app::add_export(app),
      medvqa::app::add_average(app),
      medvqa::app::add_eval(app),
      medvqa::app::add_serve(app),
      medvqa::app::add_bench(app),
      medvqa::app::add_audit(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& command : commands)
      if (command.app->parsed()) return command.run();
  } catch (const medvqa::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
