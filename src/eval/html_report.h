#pragma once
#include <string>

#include "eval/report.h"

namespace medvqa::eval {

// The report as one self-contained HTML page for a person to read (medvqa eval --html): the
// headline accuracies with their bootstrap intervals, the model beside its floors (question-only
// prior, blank / shuffled / no images), exact match by question type, modality and language as bar
// charts with 95% intervals, the closed questions' confusion table (reference × answer, the most
// frequent references), and the reliability diagram. The charts are inline SVG drawn here: no
// script, no stylesheet or font from elsewhere, so the page reads the same offline and in an
// archive. Every text from the data or the model is HTML-escaped.
std::string html_report(const Report& report);

// Written atomically (io::write_file_atomically).
void write_html_report(const Report& report, const std::string& path);

}  // namespace medvqa::eval
