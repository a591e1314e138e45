#include <gtest/gtest.h>

#include "data/normalize.h"

namespace medvqa::data {
namespace {

TEST(CollapseWhitespace, TrimsAndCollapses) {
  EXPECT_EQ(collapse_whitespace("  What is/are the abnormalities  near/in the lung? "),
            "What is/are the abnormalities near/in the lung?");
  EXPECT_EQ(collapse_whitespace("a\t\r\nb"), "a b");
  EXPECT_EQ(collapse_whitespace("a\xC2\xA0" "b\xE3\x80\x80"), "a b");  // NBSP, ideographic space
  EXPECT_EQ(collapse_whitespace(" \n "), "");
  EXPECT_EQ(collapse_whitespace(""), "");
}

TEST(NormalizeAnswer, Table) {
  const std::pair<const char*, const char*> table[] = {
      {"Yes", "yes"},
      {"  No ", "no"},
      {"CLOSED ", "closed"},
      {" superficial to the patient's skin", "superficial to the patient's skin"},
      {"Left  Side", "left side"},
      {"On the right shoulder.", "on the right shoulder"},
      {"Air?", "air"},
      {"yes!!", "yes"},
      {"etc. ;", "etc"},
      {"quadrantopia, aphasia, memory deficit, etc.", "quadrantopia, aphasia, memory deficit, etc"},
      {"T2", "t2"},
      {"MRI Diffusion Weighted", "mri diffusion weighted"},
      {"None", "none"},
      // Numbers stay text; an all-zero fraction goes, so JSON's 2.0 matches "2".
      {"2", "2"},
      {"2.0", "2"},
      {"12.00", "12"},
      {"4.0 cm", "4 cm"},
      {"2.5", "2.5"},
      {"2.50", "2.50"},
      {"0.5", "0.5"},
      {"1.0.0", "1.0.0"},
      {"v.0", "v.0"},
      {"-3.0", "-3"},
      {"2.", "2"},
      // Non-ASCII is left intact; full-width punctuation is stripped.
      {"肝脏", "肝脏"},
      {"是的。", "是的"},
      {"左肺，", "左肺"},
      {"有！", "有"},
      {"不包含？", "不包含"},
      {"Ménétrier", "ménétrier"},
      {"", ""},
      {" . ", ""},
  };
  for (const auto& [in, want] : table) EXPECT_EQ(normalize_answer(in), want) << "input \"" << in << "\"";
}

TEST(NormalizeAnswer, Idempotent) {
  for (const char* s : {"Left Side.", "2.0", "是的。", "  a  b  "})
    EXPECT_EQ(normalize_answer(normalize_answer(s)), normalize_answer(s));
}

}  // namespace
}  // namespace medvqa::data
