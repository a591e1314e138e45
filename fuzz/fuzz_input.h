#pragma once
// What every harness shares: the file loaders under test take paths (they memory-map), so an input
// is written to a file of this process's own scratch directory first.
#include <cstddef>
#include <cstdint>
#include <string>

namespace medvqa::fuzz {

// The scratch directory (made on first use, under $TMPDIR or /tmp, one per process).
const std::string& scratch_dir();
// Writes the input to scratch_dir()/name, replacing what was there, and returns the path.
std::string write_input(const uint8_t* data, size_t size, const std::string& name);

}  // namespace medvqa::fuzz
