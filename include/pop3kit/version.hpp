// pop3kit — the library's version.
#pragma once

#include <string_view>

#include "pop3kit/export.hpp"

namespace pop3kit {

/// The version of the pop3kit library the program runs with, as
/// "MAJOR.MINOR.PATCH" (for example "0.1.0"). It is the version of the
/// library's build, not of the headers the program was compiled with, so a
/// program linked against a shared libpop3kit reports the installed one. The
/// returned view refers to static storage and never dangles.
POP3KIT_EXPORT std::string_view version() noexcept;

///@{
/// The three parts of version(), as numbers.
POP3KIT_EXPORT int version_major() noexcept;
POP3KIT_EXPORT int version_minor() noexcept;
POP3KIT_EXPORT int version_patch() noexcept;
///@}

}  // namespace pop3kit
