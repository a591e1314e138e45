#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace medvqa::app {

// Each subcommand registers itself on the root app and returns what runs when it is chosen.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_ask(CLI::App& root);
Command add_inspect(CLI::App& root);
Command add_convert(CLI::App& root);
Command add_create_model(CLI::App& root);
Command add_tokenizer(CLI::App& root);
Command add_train(CLI::App& root);
Command add_export(CLI::App& root);
Command add_average(CLI::App& root);
Command add_eval(CLI::App& root);
Command add_serve(CLI::App& root);
Command add_bench(CLI::App& root);
Command add_audit(CLI::App& root);

// The shipped default model: $MEDVQA_MODEL, else models/medvqa-small beside the executable's
// project tree (build/src/medvqa → models/), else in the current directory.
std::string default_model_dir();
// The web page's files: web/ of the same project tree.
std::string default_web_dir();
// --lang: "en,zh" -> {"en", "zh"}; "all" -> {} (the readers keep every language). Throws
// medvqa::Error when no language is given.
std::vector<std::string> parse_languages(const std::string& list);
// Whether two paths name the same file (false when either does not exist).
bool same_file(const std::string& a, const std::string& b);
// Applies --threads (0 = all cores) to libtorch's intra-op pool.
void set_threads(int threads);

}  // namespace medvqa::app
