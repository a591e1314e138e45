#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace medvqa::image::detail {

// Walks the elements of a DICOM file held in memory (file meta, then the dataset in its transfer
// syntax, into sequences, items and encapsulated pixel data) and throws medvqa::Error naming the
// first element whose value length runs past the end of the data. DCMTK allocates a value's
// declared length before reading it from memory, so a 600-byte upload claiming a 4 GB element
// would otherwise cost 4 GB. A deflated dataset is checked up to its file meta only.
void check_dicom_lengths(const uint8_t* data, size_t size, const std::string& origin);

}  // namespace medvqa::image::detail
