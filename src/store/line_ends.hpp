// pop3kit::store — streaming line-end conversion and mboxrd "From " quoting.
//
// Both work on a stream cut into arbitrary chunks (the engine hands over
// whatever arrived): state carried from one chunk to the next makes the
// output the same as for the whole input in one piece.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pop3kit::store::detail {

/// CRLF -> LF. A CR not followed by LF is kept. A CR at the end of a chunk
/// is held back until the next chunk (or finish()) says what follows it.
class CrlfToLf {
 public:
  /// Appends the converted `in` to `out`.
  void feed(std::string_view in, std::string& out);
  /// End of the stream: appends a CR still held back.
  void finish(std::string& out);
  void reset() noexcept { held_cr_ = false; }

 private:
  bool held_cr_ = false;
};

/// mboxrd quoting: a line that matches ^>*From  gets one more '>' in front
/// (un-quoting removes one '>' from every line matching ^>+From  and gives
/// the original back). Input has LF line ends. Only the start of a line is
/// held back, and only while it still matches: as counters, so a line of a
/// million '>' costs no memory.
class FromQuoter {
 public:
  void feed(std::string_view in, std::string& out);
  /// End of the stream: appends a line start still held back.
  void finish(std::string& out);
  void reset() noexcept;

 private:
  void release(std::string& out);

  bool in_line_ = false;     ///< Past the decision for the current line.
  std::size_t quotes_ = 0;   ///< '>' seen at the start of the current line.
  std::size_t matched_ = 0;  ///< Octets of "From " matched after them.
};

/// Removes one level of mboxrd quoting from a whole text (for tests and
/// readers): a line matching ^>+From  loses its first '>'.
std::string unquote_mboxrd(std::string_view text);

}  // namespace pop3kit::store::detail
