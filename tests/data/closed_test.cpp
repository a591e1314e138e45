#include <gtest/gtest.h>

#include <filesystem>

#include "data/closed.h"
#include "data/normalize.h"
#include "data/readers.h"
#include "testing/fixtures.h"
#include "testing/testing.h"

namespace medvqa::data {
namespace {

using Candidates = std::vector<std::string>;

TEST(ClosedCandidates, YesNo) {
  EXPECT_EQ(closed_candidates("Are regions of the brain infarcted?"), (Candidates{"yes", "no"}));
  EXPECT_EQ(closed_candidates("Is/Are there a fracture?"), (Candidates{"yes", "no"}));
  EXPECT_EQ(closed_candidates("does this image show a mass"), (Candidates{"yes", "no"}));
  EXPECT_EQ(closed_candidates("Was this MRI taken with contrast?"), (Candidates{"yes", "no"}));
  // Asking whether either is present is still yes/no.
  EXPECT_EQ(closed_candidates("Is there ectatic or aneurysmal enlargement of the abdominal aorta?"),
            (Candidates{"yes", "no"}));
  EXPECT_EQ(closed_candidates("Any evidence of epidural or subdural hematoma?"), (Candidates{"yes", "no"}));
}

TEST(ClosedCandidates, EitherOr) {
  EXPECT_EQ(closed_candidates("Is this a CT or an MRI?"), (Candidates{"ct", "mri"}));
  EXPECT_EQ(closed_candidates("Is the abnormality focal or diffuse?"), (Candidates{"focal", "diffuse"}));
  EXPECT_EQ(closed_candidates("Is this patient male or female?"), (Candidates{"male", "female"}));
  EXPECT_EQ(closed_candidates("Are the calcifications superior or inferior to the diaphragm?"),
            (Candidates{"superior", "inferior"}));
  EXPECT_EQ(closed_candidates("Is this an AP or PA film?"), (Candidates{"ap", "pa"}));
  EXPECT_EQ(closed_candidates("Is the abnormality hyper dense or hypo dense?"),
            (Candidates{"hyper dense", "hypo dense"}));
  EXPECT_EQ(closed_candidates("Is this MRI with contrast or without contrast?"),
            (Candidates{"with contrast", "without contrast"}));
  EXPECT_EQ(closed_candidates("What is the cause of this finding: medical process or physical injury?"),
            (Candidates{"medical process", "physical injury"}));
  EXPECT_EQ(closed_candidates("Which organ is abnormal, heart or lung?"), (Candidates{"heart", "lung"}));
  EXPECT_EQ(closed_candidates("Which is the biggest in this image,lung,liver or heart?"),
            (Candidates{"lung", "liver", "heart"}));
  EXPECT_EQ(closed_candidates("Is this a T1 weighted, T2 weighted, or FLAIR image?"),
            (Candidates{"t1 weighted", "t2 weighted", "flair"}));
  // Not a question "or" can answer from its wording alone.
  EXPECT_EQ(closed_candidates("Which plane, transverse or"), Candidates{});
}

TEST(ClosedCandidates, OpenAndNonEnglish) {
  EXPECT_EQ(closed_candidates("What modality is used to take this image?"), Candidates{});
  EXPECT_EQ(closed_candidates("Where is the lesion located?"), Candidates{});
  EXPECT_EQ(closed_candidates("图片中包含肝脏吗?"), Candidates{});
  EXPECT_EQ(closed_candidates(""), Candidates{});
}

TEST(IsClosedQuestion, FollowsAnswerType) {
  VqaExample ex;
  ex.answer_type = "CLOSED";
  EXPECT_TRUE(is_closed_question(ex));
  ex.answer_type = "OPEN";
  EXPECT_FALSE(is_closed_question(ex));
  ex.answer_type = "";
  EXPECT_FALSE(is_closed_question(ex));
}

// On real closed questions: yes/no answers must always be among the candidates, and "A or B"
// options should hold the answer often enough to be worth ranking.
TEST(ClosedCandidates, VqaRadClosedQuestions) {
  const std::string path = medvqa::testing::data_root() + "/vqa-rad/trainset.json";
  if (!std::filesystem::exists(path)) MEDVQA_SKIP_MISSING_FIXTURE("no " << path);
  size_t yes_no = 0, yes_no_hit = 0, either = 0, either_hit = 0;
  for (const VqaExample& ex : read_vqa_rad(path)) {
    if (!is_closed_question(ex)) continue;
    const std::string answer = normalize_answer(ex.answer);
    const Candidates c = closed_candidates(ex.question);
    const bool hit = std::find(c.begin(), c.end(), answer) != c.end();
    if (answer == "yes" || answer == "no") {
      ++yes_no;
      yes_no_hit += hit;
    } else if (ex.question.find(" or ") != std::string::npos) {
      ++either;
      either_hit += hit;
    }
  }
  std::cout << "[closed-candidates] yes/no " << yes_no_hit << "/" << yes_no << ", either-or " << either_hit << "/"
            << either << std::endl;
  EXPECT_GE(double(yes_no_hit), 0.97 * double(yes_no));
  EXPECT_GE(double(either_hit), 0.5 * double(either));
}

}  // namespace
}  // namespace medvqa::data
