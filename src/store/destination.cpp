// pop3kit::store — parse_destination() and what the destinations share.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "destinations.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::store {
namespace {

constexpr std::string_view kForms = "expected maildir:PATH, mbox:PATH or mda:COMMAND";

Error invalid(std::string_view spec, std::string_view why) {
  std::string text = "invalid destination '";
  text += sanitize(spec, 400);
  text += "': ";
  text.append(why);
  return {errc::invalid_argument, std::move(text)};
}

// "~/x" -> $HOME/x, relative -> absolute, "." and ".." segments and a
// trailing '/' removed: spec() then names one place one way, which is what
// the state store compares.
Result<std::string> absolute_path(std::string_view spec, std::string_view path) {
  if (path.empty()) return invalid(spec, "the path is empty");
  std::filesystem::path p;
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");  // NOLINT(concurrency-mt-unsafe): read only
    if (home == nullptr || *home != '/') {
      return invalid(spec, "cannot expand '~': HOME is not set to an absolute path");
    }
    p = std::filesystem::path(home) /
        std::string(path.substr(std::min<std::size_t>(2, path.size())));
  } else {
    std::error_code ec;
    p = std::filesystem::absolute(std::string(path), ec);
    if (ec) return invalid(spec, "cannot make the path absolute: " + ec.message());
  }
  std::string normal = p.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/')
    normal.pop_back();
  return normal;
}

}  // namespace

Result<std::unique_ptr<Destination>> parse_destination(std::string_view spec,
                                                       const DestinationOptions& options) {
  if (spec.find('\0') != std::string_view::npos) return invalid("", "it contains a NUL octet");
  const std::size_t colon = spec.find(':');
  if (colon == std::string_view::npos) return invalid(spec, kForms);
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view rest = spec.substr(colon + 1);
  if (kind == "mda") {
    if (rest.find_first_not_of(" \t") == std::string_view::npos) {
      return invalid(spec, "the command is empty; " + std::string(kForms));
    }
    return detail::make_mda(std::string(rest), options.mda_crlf, options.mda_timeout);
  }
  if (kind != "maildir" && kind != "mbox") return invalid(spec, kForms);
  auto path = absolute_path(spec, rest);
  if (!path) return std::move(path).error();
  if (kind == "maildir") return detail::make_maildir(std::move(*path), options.temporary_files);
  return detail::make_mbox(std::move(*path), options.lock_wait);
}

namespace detail {

Error sink_error(std::string_view kind, std::string_view path, std::string_view what, int err) {
  std::string text(kind);
  text += ' ';
  // A path is the user's, or a config file's: shown escaped, as every
  // argument is (a control character in it must not reach a terminal).
  text += sanitize(path, 400);
  text += ": ";
  text.append(what);
  text += ": ";
  text += std::system_category().message(err);
  return {errc::sink_failed, std::move(text)};
}

int write_all(int fd, std::string_view data, off_t offset) noexcept {
  while (!data.empty()) {
    const ssize_t n = offset < 0 ? ::write(fd, data.data(), data.size())
                                 : ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // Cannot happen for files and pipes; never loop on it.
    data.remove_prefix(static_cast<std::size_t>(n));
    if (offset >= 0) offset += n;
  }
  return 0;
}

int move_no_replace(int from_dir, const char* from, int to_dir, const char* to,
                    bool& no_renameat2) noexcept {
  if (!no_renameat2) {
    if (::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno;
    no_renameat2 = true;
  }
  if (::linkat(from_dir, from, to_dir, to, 0) != 0) return errno;
  // Moved: a FROM left behind by a failure here is only a second name of
  // the same file (the callers' recovery or cleanup removes it).
  ::unlinkat(from_dir, from, 0);
  return 0;
}

}  // namespace detail
}  // namespace pop3kit::store
