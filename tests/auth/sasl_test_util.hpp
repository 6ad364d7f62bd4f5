// Helpers shared by the SASL tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "pop3kit/sasl.hpp"

namespace sasl_test {

using pop3kit::auth::SaslCredentials;
using pop3kit::auth::SaslMechanism;
using pop3kit::auth::SaslOptions;

inline std::unique_ptr<SaslMechanism> make(std::string_view name, const SaslCredentials& c,
                                           const SaslOptions& o = {}) {
  auto r = pop3kit::auth::make_sasl_mechanism(name, c, o);
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

inline std::string ok_value(pop3kit::Result<std::string> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : std::string("<error>");
}

inline pop3kit::errc code_of(const pop3kit::Error& e) {
  return static_cast<pop3kit::errc>(e.code.value());
}

}  // namespace sasl_test
