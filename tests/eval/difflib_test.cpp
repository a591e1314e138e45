#include "eval/difflib.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace medvqa::eval {
namespace {

struct RatioCase {
  std::string a, b;
  double ratio;    // python3 -c "import difflib; print(difflib.SequenceMatcher(None, a, b).ratio())"
  size_t matches;  // sum(m.size for m in SequenceMatcher(None, a, b).get_matching_blocks())
};

// Every value below was computed with CPython 3.11's difflib. The ratio must be bit-identical:
// both sides compute 2.0 * M / T in double precision.
const std::vector<RatioCase>& ratio_cases() {
  static const std::vector<RatioCase> cases = {
      {"", "", 1.0, 0},
      {"", "abc", 0.0, 0},
      {"abc", "", 0.0, 0},
      {"abc", "abc", 1.0, 3},
      {"abcd", "bcde", 0.75, 3},
      {"apple", "appel", 0.8, 4},
      {"apple", "mango", 0.2, 1},
      {"left lung", "right lung", 0.631578947368421, 6},
      {"yes", "no", 0.0, 0},
      {"no", "yes", 0.0, 0},
      // Repeated characters.
      {"aaaa", "aa", 0.6666666666666666, 2},
      {"abab", "baba", 0.75, 3},
      {"baba", "abab", 0.75, 3},
      {"aaabbb", "ababab", 0.6666666666666666, 4},
      {"ababab", "aaabbb", 0.6666666666666666, 4},
      {"abcabcabc", "cbacbacba", 0.4444444444444444, 4},
      {"mississippi", "missouri", 0.5263157894736842, 5},
      // Ties between equally long blocks: the one earliest in a wins, so the ratio is asymmetric.
      {"tide", "diet", 0.25, 1},
      {"diet", "tide", 0.5, 2},
      {"qwertyuiop", "poiuytrewq", 0.1, 1},
      {"abcxyzabc", "abc", 0.5, 3},
      {"abc", "abcxyzabc", 0.5, 3},
      {"xyabcab", "abcabxy", 0.7142857142857143, 5},
      {"a b c a b c", "c b a", 0.5, 4},
      {"mri", "ct", 0.0, 0},
      {"t2 weighted mri", "t1 weighted", 0.7692307692307693, 10},
      {"brain edema", "brain", 0.625, 5},
      // Chinese (SLAKE): compared per character, as Python str does, not per UTF-8 byte.
      {"肺", "左肺", 0.6666666666666666, 1},
      {"左肺", "右肺", 0.5, 1},
      {"心脏", "肝脏和心脏", 0.5714285714285714, 2},
  };
  return cases;
}

TEST(SequenceRatio, MatchesPythonDifflib) {
  for (const auto& c : ratio_cases()) {
    SCOPED_TRACE("a=\"" + c.a + "\" b=\"" + c.b + "\"");
    EXPECT_EQ(sequence_ratio(c.a, c.b), c.ratio);
    const SequenceMatcher m(utf8_to_code_points(c.b));
    EXPECT_EQ(m.matches(utf8_to_code_points(c.a)), c.matches);
    EXPECT_LE(m.ratio(utf8_to_code_points(c.a)), m.real_quick_ratio(utf8_to_code_points(c.a).size()));
  }
}

TEST(SequenceRatio, AutojunkAppliesOnlyFromTwoHundredElementsOfB) {
  const std::string e100(100, 'e');
  const std::string b = e100 + "left lung" + e100;  // 209 chars: 'e' (203 > 209/100+1) is popular
  const std::string ab100 = [] {
    std::string s;
    for (int i = 0; i < 100; ++i) s += "ab";
    return s;
  }();
  struct Case {
    std::string a, b;
    double ratio;  // difflib, autojunk=True (the default); autojunk=False gives the value in the comment
  };
  const std::vector<Case> cases = {
      {"eeleft lungee", b, 0.11711711711711711},         // same without autojunk: 'l' starts the match
      {"lung eeee left", b, 0.03587443946188341},        // autojunk=False: 0.08071748878923767
      {b, "eeleft lungee", 0.11711711711711711},         // len(b) = 13: no autojunk
      {"abba", ab100, 0.0196078431372549},               // 'a', 'b' both popular; autojunk=False: 0.0392156862745098
      {"xabbax", ab100, 0.0},                            // autojunk=False: 0.038834951456310676
      {"cab", ab100.substr(0, 198) + "c", 0.019801980198019802},  // len(b) = 199: no autojunk
      {"ab", ab100.substr(0, 198), 0.02},
      // Nothing can start a match, yet difflib still extends the empty match at (alo, blo) over
      // equal elements: "a"*10 vs "a"*200 matches 10.
      {std::string(10, 'a'), std::string(200, 'a'), 0.09523809523809523},
      {std::string(10, 'a'), std::string(199, 'a') + "b", 0.09523809523809523},
      // Random-looking strings found by searching for autojunk changing the result.
      {"a oe ewfs rloueux c hcehzf",
       " eze eese eqfeakcdeezluggkmjermwelnue ektpnueeeqwtisinp cfcezl x eqqqe eeaoeph vw vamvbe aek hbfxfdqfwe "
       "vnn fveenee dcmqeb uavneeedeeglre uyxaecavelyeeieeexdtvgh deqeska oe ewfs rloueyx f hcehz leceehfem ieg  "
       "ckyjce edg ",
       0.032520325203252036},  // autojunk=False: 0.1951219512195122
      {"qapmmhwe op o zejahlosqg nbejnrkhdqbxefm",
       "em gkcpideeekfyapwaxxyefeo tegeexeevegeupjdakeeewyue k  ux ieeyoxefwbwqapmme e op o eejailosq  "
       "erejerkhgqbx fm egmlhdryieoxegtkesv eyteae ueeek yekdfek lgge kdrfoerqjxw dfjwfe qe ecle cyepmeir "
       "eksvz ovrqeeemm h",
       0.024},  // autojunk=False: 0.24
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("a=\"" + c.a + "\" len(b)=" + std::to_string(c.b.size()));
    EXPECT_EQ(sequence_ratio(c.a, c.b), c.ratio);
  }
}

TEST(SequenceRatio, MatcherIsReusableAcrossManyA) {
  const SequenceMatcher m(utf8_to_code_points("tide"));
  EXPECT_EQ(m.ratio(utf8_to_code_points("diet")), 0.5);
  EXPECT_EQ(m.ratio(utf8_to_code_points("tide")), 1.0);
  EXPECT_EQ(m.ratio(utf8_to_code_points("diet")), 0.5);
  EXPECT_EQ(m.ratio(utf8_to_code_points("")), 0.0);
}

TEST(Utf8, DecodesCodePoints) {
  EXPECT_EQ(utf8_to_code_points("abc"), U"abc");
  EXPECT_EQ(utf8_to_code_points("左肺"), U"左肺");
  EXPECT_EQ(utf8_to_code_points("é😀"), U"é😀");
  EXPECT_EQ(utf8_to_code_points(""), U"");
}

TEST(Utf8, MalformedBytesDecodeLikeSurrogateescape) {
  // A lone continuation byte, a truncated 3-byte sequence, an overlong encoding of '/'.
  EXPECT_EQ(utf8_to_code_points("a\x80z"), (std::u32string{U'a', 0xDC80, U'z'}));
  EXPECT_EQ(utf8_to_code_points("\xe8\x82"), (std::u32string{0xDCE8, 0xDC82}));
  EXPECT_EQ(utf8_to_code_points("\xc0\xaf"), (std::u32string{0xDCC0, 0xDCAF}));
  EXPECT_EQ(utf8_to_code_points("\xed\xa0\x80"), (std::u32string{0xDCED, 0xDCA0, 0xDC80}));  // a surrogate
}

}  // namespace
}  // namespace medvqa::eval
