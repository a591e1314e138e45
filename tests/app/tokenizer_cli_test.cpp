// `medvqa tokenizer train|encode` end to end.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/testing.h"

namespace medvqa {
namespace {

using testing::medvqa;
using testing::Run;

TEST(TokenizerCli, TrainsOnDatasetFilesAndEncodes) {
  testing::TempDir tmp;
  std::ofstream(tmp.file("notes.txt")) << "No acute cardiopulmonary process.\nMild cardiomegaly.\n";
  const std::string out = tmp.file("tokenizer.json");
  auto r = medvqa("tokenizer train --vocab-size 700 --out " + out + " " + testing::data_root() +
                  "/vqa-rad/trainset.json " + tmp.file("notes.txt"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("vocab: 700 tokens, 440 merges"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("from 2 file(s)"), std::string::npos) << r.output;
  const auto j = nlohmann::json::parse(std::ifstream(out));
  EXPECT_EQ(j["model"]["vocab"].size(), 700u);
  EXPECT_EQ(j["model"]["merges"].size(), 440u);
  EXPECT_EQ(j["added_tokens"][1]["content"], "<s>");

  auto enc = medvqa("tokenizer encode --tokenizer " + out + " 'Is there a fracture?'");
  ASSERT_EQ(enc.status, 0) << enc.output;
  EXPECT_EQ(enc.output.rfind("ids: ", 0), 0u) << enc.output;
  EXPECT_NE(enc.output.find(" tokens for 20 bytes"), std::string::npos) << enc.output;
  EXPECT_NE(enc.output.find("  " + j["model"]["vocab"]["Ġthere"].dump() + "  Ġthere  \" there\""), std::string::npos)
      << enc.output;
  EXPECT_NE(enc.output.find("\" fracture\""), std::string::npos) << enc.output;
}

TEST(TokenizerCli, BadRequestsFailWithAMessage) {
  testing::TempDir tmp;
  std::ofstream(tmp.file("notes.txt")) << "text\n";
  auto small = medvqa("tokenizer train --vocab-size 100 --out " + tmp.file("t.json") + " " + tmp.file("notes.txt"));
  EXPECT_EQ(small.status, 1);
  EXPECT_NE(small.output.find("vocab_size 100 is below"), std::string::npos) << small.output;

  std::ofstream(tmp.file("rows.json")) << "[{\"image\": \"a.jpg\", \"label\": 3}]";
  auto unknown = medvqa("tokenizer train --out " + tmp.file("t.json") + " " + tmp.file("rows.json"));
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.output.find("rows.json"), std::string::npos) << unknown.output;

  EXPECT_NE(medvqa("tokenizer").status, 0);
  EXPECT_NE(medvqa("tokenizer train --out " + tmp.file("t.json")).status, 0);
}

}  // namespace
}  // namespace medvqa
