#include "pop3kit/version.hpp"

// The build defines these from project(VERSION ...) in CMake, the one place
// the version is written, and only for this file: a new version recompiles
// nothing else.
#if !defined(POP3KIT_VERSION_STRING) || !defined(POP3KIT_VERSION_MAJOR) || \
    !defined(POP3KIT_VERSION_MINOR) || !defined(POP3KIT_VERSION_PATCH)
#error "the build defines POP3KIT_VERSION_STRING and POP3KIT_VERSION_MAJOR/MINOR/PATCH"
#endif

namespace pop3kit {

std::string_view version() noexcept {
  return POP3KIT_VERSION_STRING;
}
int version_major() noexcept {
  return POP3KIT_VERSION_MAJOR;
}
int version_minor() noexcept {
  return POP3KIT_VERSION_MINOR;
}
int version_patch() noexcept {
  return POP3KIT_VERSION_PATCH;
}

}  // namespace pop3kit
