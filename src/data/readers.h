#pragma once
#include <string>
#include <vector>

#include "data/example.h"
#include "data/report.h"

namespace medvqa::data {

struct ReadOptions {
  // A row whose image file is missing is an error (a wrong images_dir fails loudly) unless this
  // is false; then the row is skipped and reported.
  bool require_images = true;
  // Languages to keep ("en", "zh", ...); empty keeps all. Rows left out are counted in
  // ReadReport::filtered. Only SLAKE has more than English.
  std::vector<std::string> languages = {"en"};
  // The `split` of every example; empty: from the file name ("train"/"val"/"test" when the
  // stem contains train / val / test, e.g. SLAKE validate.json -> "val"; else the stem).
  std::string split;
};

// Every reader throws medvqa::Error naming the file (and row) when the file cannot be read, is not
// the expected format (invalid JSON, wrong top-level type, missing required fields or columns,
// a field of the wrong type), or names a missing image while require_images is set. `report`
// may be null. `images_dir` empty means the release's own layout beside `path` (below).

// VQA-RAD trainset.json / testset.json: [{qid, image_name, answer, answer_type, question_type,
// question, ...}]. Number answers become text; "CLOSED " is CLOSED. Images: images/.
std::vector<VqaExample> read_vqa_rad(const std::string& path, const std::string& images_dir = "",
                                     const ReadOptions& options = {}, ReadReport* report = nullptr);

// SLAKE train/validate/test.json: [{qid, img_name, question, answer, q_lang, answer_type,
// content_type, ...}]. "None" is an answer. Images: imgs/ (img_name is xmlabN/source.jpg).
// image_attributes: the row's modality and location, and the organs named in the image folder's
// detection.json when it has one.
std::vector<VqaExample> read_slake(const std::string& path, const std::string& images_dir = "",
                                   const ReadOptions& options = {}, ReadReport* report = nullptr);

// ImageCLEF VQA-Med 2019 QA text: `synpicID|question|answer` lines (All_QA_Pairs_*.txt and the
// QAPairsByCategory/C{1..4}_*.txt files) or `synpicID|category|question|answer` (the test file
// with reference answers). The category (modality, plane, organ, abnormality) comes from that
// column, from a C{1..4}_<Category>_* file name, or, for an All_QA_Pairs file, from the
// QAPairsByCategory/ folder beside it when there is one. A yes/no answer is CLOSED, any other
// OPEN. Images: <synpicID>.jpg in the one *images folder beside the file (or its parent).
std::vector<VqaExample> read_vqa_med_2019(const std::string& path, const std::string& images_dir = "",
                                          const ReadOptions& options = {}, ReadReport* report = nullptr);

// PMC-VQA csv with a header naming at least Figure_path, Question and Answer or Answer_label;
// Choice A..D become `choices` (their "A:" prefixes removed), Answer_label picks the answer when
// Answer is empty, an optional `split` column sets the split. answer_type stays empty: PMC-VQA
// does not mark questions closed. Images: images/.
std::vector<VqaExample> read_pmc_vqa(const std::string& path, const std::string& images_dir = "",
                                     const ReadOptions& options = {}, ReadReport* report = nullptr);

// MedPix 2.0 Descriptions.json: [{image, Description{Caption, Modality, Plane, ...}, ...}] ->
// images/<image>.jpg with caption "<Modality>, <Plane>: <Caption>". The Caption field is the
// free text a figure caption in PMC-OA would be, but in MedPix it is often only a diagnosis or an
// organ ("pelvis"), while Modality and Plane are reliable and are what the later VQA stages ask
// about, so they lead the caption. Age, Sex and ACR codes are left out: not readable from the
// image. Placeholder captions ("IN PROGRESS") are skipped.
std::vector<CaptionExample> read_medpix(const std::string& path, const std::string& images_dir = "",
                                        const ReadOptions& options = {}, ReadReport* report = nullptr);

// PMC-OA jsonl: one {"image": ..., "caption": ...} per line. Images: images/.
std::vector<CaptionExample> read_pmc_oa(const std::string& path, const std::string& images_dir = "",
                                        const ReadOptions& options = {}, ReadReport* report = nullptr);

// By format name: "vqa-rad", "slake", "vqa-med-2019", "pmc-vqa"; captions: "medpix", "pmc-oa".
// An unknown name is an Error listing the known ones.
std::vector<VqaExample> read_vqa(const std::string& format, const std::string& questions_path,
                                 const std::string& images_dir = "", const ReadOptions& options = {},
                                 ReadReport* report = nullptr);
std::vector<CaptionExample> read_captions(const std::string& format, const std::string& path,
                                          const std::string& images_dir = "", const ReadOptions& options = {},
                                          ReadReport* report = nullptr);

}  // namespace medvqa::data
