#include "data/readers.h"
#include "io/error.h"

namespace medvqa::data {

std::vector<VqaExample> read_vqa(const std::string& format, const std::string& questions_path,
                                 const std::string& images_dir, const ReadOptions& options, ReadReport* report) {
  if (format == "vqa-rad") return read_vqa_rad(questions_path, images_dir, options, report);
  if (format == "slake") return read_slake(questions_path, images_dir, options, report);
  if (format == "vqa-med-2019") return read_vqa_med_2019(questions_path, images_dir, options, report);
  if (format == "pmc-vqa") return read_pmc_vqa(questions_path, images_dir, options, report);
  throw Error("unknown VQA format \"" + format + "\" (known: vqa-rad, slake, vqa-med-2019, pmc-vqa)");
}

std::vector<CaptionExample> read_captions(const std::string& format, const std::string& path,
                                          const std::string& images_dir, const ReadOptions& options,
                                          ReadReport* report) {
  if (format == "medpix") return read_medpix(path, images_dir, options, report);
  if (format == "pmc-oa") return read_pmc_oa(path, images_dir, options, report);
  throw Error("unknown caption format \"" + format + "\" (known: medpix, pmc-oa)");
}

}  // namespace medvqa::data
