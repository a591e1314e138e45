#include <gtest/gtest.h>

#include "data/csv.h"
#include "io/error.h"

namespace medvqa::data {
namespace {

using Fields = std::vector<std::string>;

TEST(Csv, PlainRecords) {
  const auto r = parse_csv("a,b,c\n1,2,3\n", "t.csv");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ(r[1].fields, (Fields{"1", "2", "3"}));
  EXPECT_EQ(r[1].line, 2u);
}

TEST(Csv, QuotedCommasQuotesAndNewlines) {
  const auto r = parse_csv("q,a\n\"Is it big, or small?\",\"He said \"\"no\"\"\"\n\"two\nlines\",x\nlast,row\n", "t.csv");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1].fields, (Fields{"Is it big, or small?", "He said \"no\""}));
  EXPECT_EQ(r[2].fields, (Fields{"two\nlines", "x"}));
  EXPECT_EQ(r[2].line, 3u);
  EXPECT_EQ(r[3].line, 5u);  // line numbers count the newline inside the quotes
}

TEST(Csv, EmptyFieldsCrlfBomAndNoFinalNewline) {
  const auto r = parse_csv("\xEF\xBB\xBFh1,h2,h3\r\n,,\r\n\"\",x,\r\n\r\nend,,z", "t.csv");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].fields, (Fields{"h1", "h2", "h3"}));
  EXPECT_EQ(r[1].fields, (Fields{"", "", ""}));
  EXPECT_EQ(r[2].fields, (Fields{"", "x", ""}));
  EXPECT_EQ(r[3].fields, (Fields{"end", "", "z"}));
  EXPECT_EQ(r[3].line, 5u);
}

TEST(Csv, CarriageReturnInsideQuotesIsKept) {
  const auto r = parse_csv("\"a\r\nb\",c\n", "t.csv");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].fields, (Fields{"a\r\nb", "c"}));
}

TEST(Csv, EmptyInput) { EXPECT_TRUE(parse_csv("", "t.csv").empty()); }

TEST(Csv, MalformedQuotingIsAnErrorNamingTheLine) {
  try {
    parse_csv("a,b\n1,\"open\n2,3\n", "bad.csv");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv: line 2: unterminated quoted field"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_csv("a,\"b\"c\n", "bad.csv"), Error);
  EXPECT_THROW(parse_csv("a,b\"c\n", "bad.csv"), Error);
}

}  // namespace
}  // namespace medvqa::data
