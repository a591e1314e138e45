#include "image/dicom_lengths.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctag.h>

#include <cstdio>
#include <cstring>

#include "io/error.h"

namespace medvqa::image::detail {
namespace {

constexpr uint32_t kUndefinedLength = 0xFFFFFFFF;
constexpr uint16_t kItemGroup = 0xFFFE;
constexpr uint16_t kItem = 0xE000, kSequenceDelimiter = 0xE0DD;

struct Syntax {
  bool explicit_vr = true;
  bool big_endian = false;
};

// The transfer syntax a dataset is encoded in, from its UID (PS3.5 A): implicit VR little endian,
// explicit VR big endian, deflated (nullptr: not walked), else explicit VR little endian.
const Syntax* dataset_syntax(const std::string& uid) {
  static const Syntax implicit_le{false, false}, explicit_be{true, true}, explicit_le{true, false};
  if (uid == "1.2.840.10008.1.2") return &implicit_le;
  if (uid == "1.2.840.10008.1.2.2") return &explicit_be;
  if (uid == "1.2.840.10008.1.2.1.99") return nullptr;
  return &explicit_le;
}

// VRs whose explicit encoding has a 4-byte length after 2 reserved bytes (PS3.5 7.1.2).
bool long_length_vr(const char* vr) {
  static const char* const kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* v : kLong)
    if (std::memcmp(vr, v, 2) == 0) return true;
  return false;
}

std::string tag_name(uint16_t group, uint16_t element) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "(%04X,%04X)", group, element);
  return buf;
}

}  // namespace

void check_dicom_lengths(const uint8_t* data, size_t size, const std::string& origin) {
  // Only files with a file meta group are decoded as DICOM (image::decode_image sniffs "DICM").
  if (size < 132 || std::memcmp(data + 128, "DICM", 4) != 0) return;
  size_t pos = 132;
  const Syntax meta{true, false};
  const Syntax* syntax = &meta;
  std::string transfer_syntax = "1.2.840.10008.1.2";  // a meta group without one: DCMTK's default
  bool in_meta = true, encapsulated = false;
  auto u16 = [&](size_t at) {
    return syntax->big_endian ? uint16_t(data[at] << 8 | data[at + 1]) : uint16_t(data[at] | data[at + 1] << 8);
  };
  auto u32 = [&](size_t at) {
    return syntax->big_endian ? uint32_t(u16(at)) << 16 | u16(at + 2) : uint32_t(u16(at)) | uint32_t(u16(at + 2)) << 16;
  };
  while (size - pos >= 8) {
    if (in_meta && uint16_t(data[pos] | data[pos + 1] << 8) != 0x0002) {
      in_meta = false;
      syntax = dataset_syntax(transfer_syntax);
      if (syntax == nullptr) return;
    }
    const uint16_t group = u16(pos), element = u16(pos + 2);
    uint32_t length;
    size_t header = 8;
    bool sequence = false;
    if (group == kItemGroup) {
      length = u32(pos + 4);
    } else if (syntax->explicit_vr) {
      const char* vr = reinterpret_cast<const char*>(data + pos + 4);
      if (long_length_vr(vr)) {
        if (size - pos < 12) return;
        length = u32(pos + 8);
        header = 12;
      } else {
        length = u16(pos + 6);
      }
      sequence = std::memcmp(vr, "SQ", 2) == 0;
    } else {
      length = u32(pos + 4);
      sequence = DcmTag(group, element).getEVR() == EVR_SQ;
    }
    pos += header;
    if (group == kItemGroup && element == kSequenceDelimiter) encapsulated = false;
    if (length == kUndefinedLength) {
      // UN of undefined length holds a sequence in implicit VR (PS3.5 6.2.2) whatever the
      // dataset's syntax; rare enough to leave to DCMTK rather than walk wrongly.
      if (syntax->explicit_vr && group != kItemGroup && std::memcmp(data + pos - header + 4, "UN", 2) == 0) return;
      // A sequence, an item or encapsulated pixel data: its contents follow as elements or items.
      if (group == 0x7FE0 && element == 0x0010) encapsulated = true;
      continue;
    }
    if (length > size - pos)
      throw Error(origin + ": DICOM element " + tag_name(group, element) + " claims " + std::to_string(length) +
                  " bytes, but only " + std::to_string(size - pos) + " remain (a damaged or hostile file)");
    // Sequences and their items hold elements; a fragment of encapsulated pixel data is raw bytes.
    const bool holds_elements = sequence || (group == kItemGroup && element == kItem && !encapsulated);
    if (in_meta && group == 0x0002 && element == 0x0010) {
      transfer_syntax.assign(reinterpret_cast<const char*>(data + pos), length);
      transfer_syntax.erase(transfer_syntax.find_last_not_of(std::string(" \0", 2)) + 1);  // UI padding
    }
    if (!holds_elements) pos += length;
  }
}

}  // namespace medvqa::image::detail
