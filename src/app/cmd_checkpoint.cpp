#include <iostream>

#include "app/commands.h"
#include "io/convert.h"
#include "io/inspect.h"

namespace medvqa::app {

Command add_inspect(CLI::App& root) {
  auto path = std::make_shared<std::string>();
  auto* cmd = root.add_subcommand(
      "inspect", "List the tensors (name, dtype, shape) and config sizes of a checkpoint file or model directory");
  cmd->add_option("path", *path, "A .safetensors/.bin file, a shard index, or a model directory")->required();
  return {cmd, [path]() {
    std::cout << io::describe_checkpoint(*path);
    return 0;
  }};
}

Command add_convert(CLI::App& root) {
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = root.add_subcommand("convert", "Convert a torch.save checkpoint (.bin, sharded or not) to safetensors");
  cmd->add_option("input", *in, "A .bin/.pt file, a *.index.json, or a model directory")->required();
  cmd->add_option("output", *out, "The .safetensors file to write (atomically)")->required();
  return {cmd, [in, out]() {
    io::convert_checkpoint(*in, *out);
    std::cout << "wrote " << *out << "\n";
    return 0;
  }};
}

}  // namespace medvqa::app
