#include <chrono>
#include <iomanip>
#include <iostream>

#include "app/commands.h"
#include "text/bpe_trainer.h"
#include "text/corpus.h"
#include "text/tokenizer.h"

namespace medvqa::app {

namespace {

Command tokenizer_train(CLI::App& parent) {
  struct Options {
    std::vector<std::string> files;
    std::string out;
    text::BpeTrainerOptions trainer;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = parent.add_subcommand(
      "train",
      "Train a byte-level BPE vocabulary with BLOOM's tokenizer.json structure on domain text. FILES are plain text "
      "(one document per line) or dataset files: VQA-RAD trainset.json, SLAKE train.json, VQA-Med "
      "All_QA_Pairs_*.txt, MedPix Descriptions.json");
  cmd->add_option("--vocab-size", o->trainer.vocab_size, "Tokens in all, specials and 256 byte symbols included")
      ->capture_default_str();
  cmd->add_option("--min-frequency", o->trainer.min_frequency, "Stop once no pair occurs this often")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "tokenizer.json to write")->required();
  cmd->add_option("files", o->files, "Training text")->required()->check(CLI::ExistingFile);
  return {cmd, [o]() {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::string> docs = text::read_corpus_files(o->files);
    size_t bytes = 0;
    for (const auto& d : docs) bytes += d.size();
    std::cout << "corpus: " << docs.size() << " documents, " << bytes << " bytes from " << o->files.size()
              << " file(s)\n";

    text::BpeTrainingStats stats;
    const text::Tokenizer tokenizer = text::train_bpe(docs, o->trainer, &stats);
    tokenizer.save(o->out);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "words: " << stats.words << " (" << stats.distinct_words << " distinct)\n"
              << "vocab: " << tokenizer.vocab_size() << " tokens, " << stats.merges << " merges";
    if (stats.merges > 0) std::cout << ", the last seen " << stats.last_merge_count << " times";
    std::cout << "\n";
    if (tokenizer.vocab_size() < o->trainer.vocab_size)
      std::cout << "stopped before --vocab-size " << o->trainer.vocab_size << ": no pair occurs "
                << o->trainer.min_frequency << " times or more\n";
    std::cout << "wrote " << o->out << " in " << std::fixed << std::setprecision(1) << seconds << " s\n";
    return 0;
  }};
}

Command tokenizer_encode(CLI::App& parent) {
  struct Options {
    std::string tokenizer, text;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = parent.add_subcommand("encode", "Show the ids and tokens a tokenizer gives a text");
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json, or a model directory holding one")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("text", o->text, "Text to encode")->required();
  return {cmd, [o]() {
    const text::Tokenizer tokenizer = text::Tokenizer::from_file(o->tokenizer);
    const text::Encoding enc = tokenizer.encode_with_offsets(o->text);
    std::cout << "ids:";
    for (int64_t id : enc.ids) std::cout << ' ' << id;
    std::cout << "\n" << enc.ids.size() << " tokens for " << o->text.size() << " bytes\n";
    // The byte-level spelling ("Ġlung") is what tokenizer.json holds; the text is what it covers.
    for (size_t i = 0; i < enc.ids.size(); ++i)
      std::cout << std::setw(8) << enc.ids[i] << "  " << enc.tokens[i] << "  "
                << nlohmann::json(tokenizer.decode({enc.ids[i]})).dump() << "\n";
    return 0;
  }};
}

}  // namespace

Command add_tokenizer(CLI::App& root) {
  auto* cmd = root.add_subcommand("tokenizer", "Train a tokenizer on medical text, or inspect how one encodes");
  cmd->require_subcommand(1);
  const Command train = tokenizer_train(*cmd);
  const Command encode = tokenizer_encode(*cmd);
  return {cmd, [train, encode]() { return train.app->parsed() ? train.run() : encode.run(); }};
}

}  // namespace medvqa::app
