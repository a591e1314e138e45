// Training text from the dataset files as they are distributed, and from plain text.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "io/error.h"
#include "testing/testing.h"
#include "text/corpus.h"

namespace medvqa::text {
namespace {

std::string data(const std::string& rel) { return medvqa::testing::data_root() + "/" + rel; }

bool contains(const std::vector<std::string>& docs, const std::string& s) {
  return std::find(docs.begin(), docs.end(), s) != docs.end();
}

TEST(Corpus, VqaRadQuestionsAndAnswersIncludingNumbers) {
  const auto docs = corpus_from_file(data("vqa-rad/trainset.json"));
  // 3064 rows, two documents each, less a few blank answers at most.
  EXPECT_GT(docs.size(), 6000u);
  EXPECT_LE(docs.size(), 6128u);
  EXPECT_TRUE(contains(docs, "Are regions of the brain infarcted?"));
  EXPECT_TRUE(contains(docs, "12"));  // a JSON number answer
  for (const auto& d : docs) EXPECT_TRUE(!d.empty() && d.front() != ' ' && d.back() != ' ') << '"' << d << '"';
}

TEST(Corpus, SlakeKeepsEnglishAndChinese) {
  const auto docs = corpus_from_file(data("slake/train.json"));
  // 9043 rows, two documents each; one field is blank.
  EXPECT_GE(docs.size(), 2u * 9043u - 10);
  EXPECT_LE(docs.size(), 2u * 9043u);
  EXPECT_TRUE(contains(docs, "What modality is used to take this image?"));
  EXPECT_TRUE(std::any_of(docs.begin(), docs.end(), [](const std::string& d) { return d.find("\xe5\x90\x97") != std::string::npos; }));  // 吗
}

TEST(Corpus, VqaMedPipeLines) {
  const auto docs = corpus_from_file(data("vqa-med-2019/training/All_QA_Pairs_train.txt"));
  EXPECT_EQ(docs.size(), 2u * 12664u);
  EXPECT_EQ(docs[0], "what kind of image is this?");
  EXPECT_EQ(docs[1], "cta - ct angiography");
}

TEST(Corpus, MedPixCaptions) {
  const auto docs = corpus_from_file(data("medpix2/Descriptions.json"));
  EXPECT_GT(docs.size(), 2000u);
  EXPECT_LE(docs.size(), 2031u);
  EXPECT_NE(docs[0].find("prostate"), std::string::npos);
}

TEST(Corpus, MedPixCaseTextFieldByField) {
  const auto docs = corpus_from_file(data("medpix2/Case_topic.json"));
  EXPECT_GT(docs.size(), 671u * 4);
  EXPECT_TRUE(std::any_of(docs.begin(), docs.end(), [](const std::string& d) {
    return d.rfind("History: 73-year-old male with hematuria", 0) == 0;
  }));
  EXPECT_TRUE(std::any_of(docs.begin(), docs.end(), [](const std::string& d) { return d.rfind("Findings: ", 0) == 0; }));
  for (const auto& d : docs) EXPECT_FALSE(d.size() > 5 && d.compare(d.size() - 5, 5, ": N/A") == 0) << d;
}

TEST(Corpus, RocoCaptionColumn) {
  const auto docs = corpus_from_file(data("roco-captions/captions.tsv"));
  EXPECT_EQ(docs.size(), 12487u);
  EXPECT_EQ(docs[0], "Axial computed tomography scan of the pelvis showing a diffuse infiltration of the bladder wall, "
                     "catheter in situ (arrow).");
}

TEST(Corpus, SlakeKnowledgeGraphTriplesAsSentences) {
  const auto docs = corpus_from_file(data("slake/KG/en_disease.csv"));
  EXPECT_GT(docs.size(), 2000u);
  EXPECT_EQ(docs[0], "Alveolar Proteinosis location: Lung");
}

TEST(Corpus, PlainTextIsOneDocumentPerLine) {
  medvqa::testing::TempDir tmp;
  std::ofstream(tmp.file("notes.txt")) << "Chest X-ray.\r\n\r\n  No effusion.  \nlast line without newline";
  EXPECT_EQ(corpus_from_file(tmp.file("notes.txt")),
            (std::vector<std::string>{"Chest X-ray.", "No effusion.", "last line without newline"}));
  EXPECT_EQ(read_corpus_files({tmp.file("notes.txt"), tmp.file("notes.txt")}).size(), 6u);
}

TEST(Corpus, WrongFilesAreErrorsNamingThem) {
  medvqa::testing::TempDir tmp;
  std::ofstream(tmp.file("All_QA_Pairs_x.txt")) << "synpic1|what is this?|ct\nno pipes here\n";
  try {
    corpus_from_file(tmp.file("All_QA_Pairs_x.txt"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("All_QA_Pairs_x.txt:2"), std::string::npos) << e.what();
  }
  // Valid JSON, but not one of the known datasets.
  std::ofstream(tmp.file("rows.json")) << "[{\"image\": \"a.jpg\", \"label\": 3}]";
  EXPECT_THROW(corpus_from_file(tmp.file("rows.json")), Error);
  std::ofstream(tmp.file("table.tsv")) << "id\ttext\n1\tno caption column\n";
  try {
    corpus_from_file(tmp.file("table.tsv"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'caption' column"), std::string::npos) << e.what();
  }
  std::ofstream(tmp.file("kg.csv")) << "organ#attribute#value\nLiver#function\n";
  EXPECT_THROW(corpus_from_file(tmp.file("kg.csv")), Error);
  std::ofstream(tmp.file("bad.json")) << "[{\"question\": ";
  EXPECT_THROW(corpus_from_file(tmp.file("bad.json")), Error);
  EXPECT_THROW(corpus_from_file(tmp.file("missing.txt")), Error);
}

}  // namespace
}  // namespace medvqa::text
