#include "eval/difflib.h"

#include <algorithm>
#include <array>

namespace medvqa::eval {

namespace {

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

std::u32string utf8_to_code_points(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c0 = static_cast<unsigned char>(s[i]);
    if (c0 < 0x80) {
      out.push_back(c0);
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (rejects overlongs, surrogates)
    char32_t cp = 0;
    if (c0 >= 0xC2 && c0 <= 0xDF) {
      len = 2;
      cp = c0 & 0x1F;
    } else if (c0 >= 0xE0 && c0 <= 0xEF) {
      len = 3;
      cp = c0 & 0x0F;
      if (c0 == 0xE0) lo = 0xA0;
      if (c0 == 0xED) hi = 0x9F;
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
      len = 4;
      cp = c0 & 0x07;
      if (c0 == 0xF0) lo = 0x90;
      if (c0 == 0xF4) hi = 0x8F;
    }
    bool ok = len != 0 && i + len <= n;
    if (ok) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = c1 >= lo && c1 <= hi;
      for (size_t k = 2; ok && k < len; ++k) ok = continuation(static_cast<unsigned char>(s[i + k]));
    }
    if (!ok) {
      out.push_back(0xDC00 + c0);  // surrogateescape
      ++i;
      continue;
    }
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

// difflib keeps j2len (the lengths of matches ending at b[j] in the previous row of `a`) in a
// dict rebuilt per row. Here it is two dense arrays indexed by j+1, with a generation stamp per
// entry so that nothing has to be cleared between rows or between calls.
struct SequenceMatcher::Scratch {
  explicit Scratch(size_t lb) {
    for (auto& r : rows) r.assign(lb + 1, Entry{0, 0});
  }
  struct Entry {
    size_t stamp, length;
  };
  std::array<std::vector<Entry>, 2> rows;
  size_t generation = 1;
};

SequenceMatcher::SequenceMatcher(std::u32string b) : b_(std::move(b)) {
  for (size_t j = 0; j < b_.size(); ++j) b2j_[b_[j]].push_back(j);
  // difflib's autojunk: purge "popular" elements of long sequences from the index.
  const size_t n = b_.size();
  if (n >= 200) {
    const size_t ntest = n / 100 + 1;
    for (auto it = b2j_.begin(); it != b2j_.end();) {
      if (it->second.size() > ntest) {
        it = b2j_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

SequenceMatcher::Block SequenceMatcher::find_longest_match(std::u32string_view a, size_t alo, size_t ahi,
                                                           size_t blo, size_t bhi, Scratch& scratch) const {
  size_t besti = alo, bestj = blo, bestsize = 0;
  scratch.generation += 2;  // entries of earlier calls are never read as the previous row
  size_t parity = 0;
  for (size_t i = alo; i < ahi; ++i) {
    const size_t gen = scratch.generation;
    auto& prev = scratch.rows[parity ^ 1];
    auto& cur = scratch.rows[parity];
    auto found = b2j_.find(a[i]);
    if (found != b2j_.end()) {
      for (size_t j : found->second) {
        if (j < blo) continue;
        if (j >= bhi) break;
        // j2len.get(j-1, 0) + 1: entry j-1 lives at index j.
        const size_t k = (prev[j].stamp == gen - 1 ? prev[j].length : 0) + 1;
        cur[j + 1] = {gen, k};
        if (k > bestsize) {
          besti = i + 1 - k;
          bestj = j + 1 - k;
          bestsize = k;
        }
      }
    }
    ++scratch.generation;
    parity ^= 1;
  }
  // Extend the match by equal elements on each side. With isjunk=None there is no junk, so these
  // are difflib's "non-junk" extension loops; they also pass over popular elements, as difflib's do.
  while (besti > alo && bestj > blo && a[besti - 1] == b_[bestj - 1]) {
    --besti;
    --bestj;
    ++bestsize;
  }
  while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] == b_[bestj + bestsize]) {
    ++bestsize;
  }
  return {besti, bestj, bestsize};
}

size_t SequenceMatcher::matches(std::u32string_view a) const {
  Scratch scratch(b_.size());
  size_t total = 0;
  std::vector<std::array<size_t, 4>> queue{{0, a.size(), 0, b_.size()}};
  while (!queue.empty()) {
    const auto [alo, ahi, blo, bhi] = queue.back();
    queue.pop_back();
    const Block m = find_longest_match(a, alo, ahi, blo, bhi, scratch);
    if (m.size == 0) continue;
    total += m.size;
    if (alo < m.i && blo < m.j) queue.push_back({alo, m.i, blo, m.j});
    if (m.i + m.size < ahi && m.j + m.size < bhi) queue.push_back({m.i + m.size, ahi, m.j + m.size, bhi});
  }
  return total;
}

double SequenceMatcher::ratio(std::u32string_view a) const {
  const size_t length = a.size() + b_.size();
  if (length == 0) return 1.0;
  return 2.0 * static_cast<double>(matches(a)) / static_cast<double>(length);
}

double SequenceMatcher::real_quick_ratio(size_t a_length) const {
  const size_t length = a_length + b_.size();
  if (length == 0) return 1.0;
  return 2.0 * static_cast<double>(std::min(a_length, b_.size())) / static_cast<double>(length);
}

double sequence_ratio(std::string_view a, std::string_view b) {
  return SequenceMatcher(utf8_to_code_points(b)).ratio(utf8_to_code_points(a));
}

}  // namespace medvqa::eval
