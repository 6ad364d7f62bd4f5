// pop3kit — which declarations the library exports.
#pragma once

/// POP3KIT_EXPORT marks a declaration of the public API: a class (its members,
/// vtable and type information) or a function. The library is compiled with
/// -fvisibility=hidden and -fvisibility-inlines-hidden, so a shared
/// libpop3kit exports exactly what carries this mark; everything else (the
/// sources' helpers, detail namespaces) stays inside the library. A program
/// using pop3kit never needs to define or use the macro itself. For a static
/// library the mark changes nothing a program can see.
#if defined(__GNUC__) || defined(__clang__)
#define POP3KIT_EXPORT __attribute__((visibility("default")))
#else
#define POP3KIT_EXPORT
#endif
