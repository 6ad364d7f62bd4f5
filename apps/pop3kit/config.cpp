// pop3kit command — reading and checking the config file (toml++).
#include "config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>

#include "exit_codes.hpp"
#include "numbers.hpp"
#include "pop3kit/client.hpp"
#include "pop3kit/delivery.hpp"
#include "pop3kit/text.hpp"
#include "pop3kit/url.hpp"

namespace pop3kit::cli {
namespace {

// Keys and values come from a file: shown sanitised and bounded.
std::string shown(std::string_view text) {
  return sanitize(text, 80);
}

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(sanitize(path, 400)) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& what) const {
    if (where.begin.line != 0) {
      throw Failure(exit_code::config, fmt::format("{}:{}: {}", path_, where.begin.line, what));
    }
    throw Failure(exit_code::config, fmt::format("{}: {}", path_, what));
  }

  // Applies the keys of one table ([defaults] or [account.NAME]) to `out`.
  void apply(const toml::table& table, const std::string& where, AccountConfig& out) const {
    for (const auto& [key, node] : table) {
      const std::string k(key.str());
      const auto it = setters().find(k);
      if (it == setters().end()) {
        fail(key.source(), fmt::format("unknown key '{}' in [{}] (known keys: {})", shown(k), where,
                                       known_keys()));
      }
      it->second(*this, k, node, out);
    }
  }

  template <class T>
  T get(const std::string& key, const toml::node& node, const char* expected) const {
    if (auto v = node.value_exact<T>()) return *v;
    fail(node.source(), fmt::format("'{}' must be {}", key, expected));
  }

  std::string text(const std::string& key, const toml::node& node) const {
    auto s = get<std::string>(key, node, "a string");
    if (s.find('\0') != std::string::npos) fail(node.source(), "'" + key + "' holds a NUL");
    return s;
  }

  // Seconds: an integer or a float (TOML's nan and inf included, refused
  // here), through the same checks as the options.
  std::chrono::milliseconds seconds(const std::string& key, const toml::node& node) const {
    Checked<std::chrono::milliseconds> v;
    if (auto i = node.value_exact<std::int64_t>()) {
      v = seconds_value(static_cast<double>(*i));
    } else if (auto d = node.value_exact<double>()) {
      v = seconds_value(*d);
    } else {
      fail(node.source(), fmt::format("'{}' must be a number of seconds", key));
    }
    if (!v.ok()) fail(node.source(), fmt::format("'{}' {}", key, v.reason()));
    return v.value();
  }

  unsigned count(const std::string& key, const toml::node& node) const {
    const auto v = node.value_exact<std::int64_t>();
    if (!v || *v < 1 || *v > kMaxJobs) {
      fail(node.source(), fmt::format("'{}' must be a whole number from 1 to {}", key, kMaxJobs));
    }
    return static_cast<unsigned>(*v);
  }

  std::uint64_t size(const std::string& key, const toml::node& node) const {
    Checked<std::uint64_t> v;
    if (auto i = node.value_exact<std::int64_t>()) {
      v = parse_octets(std::to_string(*i));
    } else if (auto s = node.value_exact<std::string>()) {
      v = parse_octets(*s);
    } else {
      v = parse_octets("");
    }
    if (!v.ok()) {
      fail(node.source(), fmt::format("'{}' must be a size: octets, or a number with k, M or G "
                                      "(\"20M\"): {}",
                                      key, v.reason()));
    }
    return v.value();
  }

 private:
  using Setter =
      std::function<void(const Reader&, const std::string&, const toml::node&, AccountConfig&)>;

  static const std::map<std::string, Setter>& setters() {
    static const std::map<std::string, Setter> table = {
        {"url", [](auto& r, auto& k, auto& n, auto& a) { a.url = r.text(k, n); }},
        {"to", [](auto& r, auto& k, auto& n, auto& a) { a.to = r.text(k, n); }},
        {"keep", [](auto& r, auto& k, auto& n,
                    auto& a) { a.keep = r.template get<bool>(k, n, "true or false"); }},
        {"max_size", [](auto& r, auto& k, auto& n, auto& a) { a.max_size = r.size(k, n); }},
        {"jobs", [](auto& r, auto& k, auto& n, auto& a) { a.jobs = r.count(k, n); }},
        {"max_per_host",
         [](auto& r, auto& k, auto& n, auto& a) { a.max_per_host = r.count(k, n); }},
        {"password_command",
         [](auto& r, auto& k, auto& n, auto& a) { a.password_command = r.text(k, n); }},
        {"token_command",
         [](auto& r, auto& k, auto& n, auto& a) { a.token_command = r.text(k, n); }},
        {"password", [](auto& r, auto& k, auto& n, auto& a) { a.password = r.text(k, n); }},
        {"mda_crlf", [](auto& r, auto& k, auto& n,
                        auto& a) { a.mda_crlf = r.template get<bool>(k, n, "true or false"); }},
        {"plaintext", [](auto& r, auto& k, auto& n,
                         auto& a) { a.plaintext = r.template get<bool>(k, n, "true or false"); }},
        {"allow_plaintext_password",
         [](auto& r, auto& k, auto& n, auto& a) {
           a.allow_plaintext_password = r.template get<bool>(k, n, "true or false");
         }},
        {"ca_file", [](auto& r, auto& k, auto& n, auto& a) { a.ca_file = r.text(k, n); }},
        {"ca_dir", [](auto& r, auto& k, auto& n, auto& a) { a.ca_dir = r.text(k, n); }},
        {"cert", [](auto& r, auto& k, auto& n, auto& a) { a.cert = r.text(k, n); }},
        {"key", [](auto& r, auto& k, auto& n, auto& a) { a.key = r.text(k, n); }},
        {"tls_min",
         [](auto& r, auto& k, auto& n, auto& a) {
           std::string v = r.text(k, n);
           if (v != "1.2" && v != "1.3") r.fail(n.source(), "'tls_min' must be \"1.2\" or \"1.3\"");
           a.tls_min = v;
         }},
        {"pin",
         [](auto& r, auto& k, auto& n, auto& a) {
           a.pins.clear();
           if (const auto* arr = n.as_array()) {
             for (const auto& e : *arr)
               a.pins.push_back(r.text(k, e));
           } else {
             a.pins.push_back(r.text(k, n));
           }
         }},
        {"channel_binding",
         [](auto& r, auto& k, auto& n, auto& a) {
           std::string v = r.text(k, n);
           if (!parse_channel_binding(v)) {
             r.fail(n.source(),
                    "'channel_binding' must be \"auto\", \"tls-exporter\", "
                    "\"tls-unique\", \"tls-server-end-point\" or \"none\"");
           }
           a.channel_binding = v;
         }},
        {"pin_only", [](auto& r, auto& k, auto& n,
                        auto& a) { a.pin_only = r.template get<bool>(k, n, "true or false"); }},
        {"utf8", [](auto& r, auto& k, auto& n,
                    auto& a) { a.utf8 = r.template get<bool>(k, n, "true or false"); }},
        {"timeout", [](auto& r, auto& k, auto& n, auto& a) { a.timeout = r.seconds(k, n); }},
        {"connect_timeout",
         [](auto& r, auto& k, auto& n, auto& a) { a.connect_timeout = r.seconds(k, n); }},
        {"deadline", [](auto& r, auto& k, auto& n, auto& a) { a.deadline = r.seconds(k, n); }},
    };
    return table;
  }

  static std::string known_keys() {
    std::string out;
    for (const auto& [k, _] : setters())
      out += (out.empty() ? "" : ", ") + k;
    return out;
  }

  std::string path_;
};

// The bare key a line "KEY = ..." of `content` starts with (line 1 is the
// first), to name it in a syntax error; "" when the line is not like that.
// Never the value: it may be a password.
std::string key_at_line(std::string_view content, std::uint32_t line) {
  if (line == 0) return "";
  for (std::uint32_t i = 1; i < line; ++i) {
    const auto nl = content.find('\n');
    if (nl == std::string_view::npos) return "";
    content.remove_prefix(nl + 1);
  }
  const auto start = content.find_first_not_of(" \t");
  if (start == std::string_view::npos) return "";
  content.remove_prefix(start);
  const auto end =
      content.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
  if (end == 0 || end == std::string_view::npos) return "";
  const auto eq = content.find_first_not_of(" \t", end);
  if (eq == std::string_view::npos || content[eq] != '=') return "";
  return std::string(content.substr(0, std::min<std::size_t>(end, 64)));
}

// ssh's rule for private keys: a file holding a secret is readable by its
// owner only, and owned by the user who runs pop3kit.
void check_private(const std::string& path, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw Failure(exit_code::config,
                  fmt::format("{}: cannot stat: {}", sanitize(path, 400), std::strerror(errno)));
  }
  if ((st.st_mode & 077) != 0 || st.st_uid != ::geteuid()) {
    throw Failure(exit_code::config,
                  fmt::format("{}: holds a password but {} (mode {:o}); run `chmod 600 {}`, or use "
                              "password_command instead",
                              sanitize(path, 400),
                              st.st_uid != ::geteuid() ? "belongs to another user"
                                                       : "other users can read it",
                              st.st_mode & 0777, sanitize(path, 400)));
  }
}

}  // namespace

std::string default_config_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/pop3kit/config.toml";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.config/pop3kit/config.toml";
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  const auto v = parse_octets(text, 0);
  if (!v.ok()) return std::nullopt;
  return v.value();
}

Config load_config(const std::string& path) {
  // Opened once, so the permission check and the parse see the same file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    throw Failure(exit_code::config, fmt::format("cannot read the config file {}: {}",
                                                 sanitize(path, 400), std::strerror(errno)));
  }
  std::string content;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw Failure(exit_code::config,
                    fmt::format("{}: cannot read: {}", sanitize(path, 400), std::strerror(e)));
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > 1024 * 1024) {
      ::close(fd);
      throw Failure(exit_code::config, fmt::format("{}: larger than 1 MiB", sanitize(path, 400)));
    }
  }

  const Reader reader(path);
  toml::table root;
  try {
    root = toml::parse(content, path);
  } catch (const toml::parse_error& e) {
    ::close(fd);
    // toml++ quotes what it saw, line end included: one line, printable.
    std::string what = sanitize(e.description(), 200);
    if (const std::string key = key_at_line(content, e.source().begin.line); !key.empty()) {
      what += " (key '" + key + "')";
    }
    reader.fail(e.source(), what);
  }

  Config config;
  config.path = path;
  AccountConfig defaults;
  bool any_password = false;
  std::vector<std::pair<std::uint32_t, std::size_t>> lines;
  try {
    for (const auto& [key, node] : root) {
      const std::string k(key.str());
      if (k == "defaults") {
        const auto* t = node.as_table();
        if (t == nullptr) reader.fail(node.source(), "'defaults' must be a table: [defaults]");
        reader.apply(*t, "defaults", defaults);
      } else if (k != "account") {
        reader.fail(key.source(), fmt::format("unknown table or key '{}' (expected [defaults] "
                                              "and [account.NAME] tables)",
                                              shown(k)));
      }
    }
    any_password = defaults.password.has_value();
    config.jobs = defaults.jobs;
    config.max_per_host = defaults.max_per_host;
    if (const auto* accounts = root["account"].node(); accounts != nullptr) {
      const auto* t = accounts->as_table();
      if (t == nullptr)
        reader.fail(accounts->source(), "'account' must hold [account.NAME] tables");
      for (const auto& [key, node] : *t) {
        const std::string name(key.str());
        const auto* a = node.as_table();
        if (a == nullptr) {
          reader.fail(node.source(), fmt::format("account.{} must be a table: [account.{}]",
                                                 shown(name), shown(name)));
        }
        if (name.empty() || name.find_first_of("\r\n\t\x7f") != std::string::npos) {
          reader.fail(key.source(), "an account name must be printable and not empty");
        }
        AccountConfig account = defaults;
        account.name = name;
        reader.apply(*a, "account." + name, account);
        for (const char* run_key : {"jobs", "max_per_host"}) {
          if (const auto* n = (*a)[run_key].node(); n != nullptr) {
            reader.fail(n->source(), fmt::format("'{}' is a setting of the whole run: put it in "
                                                 "[defaults], not in [account.{}]",
                                                 run_key, shown(name)));
          }
        }
        const toml::source_region& where = a->source();
        if (account.url.empty()) {
          reader.fail(where, fmt::format("[account.{}] has no 'url'", shown(name)));
        }
        if (auto url = parse_pop_url(account.url); !url) {
          reader.fail((*a)["url"].node() ? (*a)["url"].node()->source() : where,
                      fmt::format("[account.{}] url: {}", shown(name), url.error().message));
        }
        if (account.to.empty()) {
          reader.fail(where, fmt::format("[account.{}] has no 'to' (maildir:PATH, mbox:PATH or "
                                         "mda:COMMAND)",
                                         shown(name)));
        }
        if (auto to = store::parse_destination(account.to); !to) {
          reader.fail((*a)["to"].node() ? (*a)["to"].node()->source() : where,
                      fmt::format("[account.{}] to: {}", shown(name), to.error().message));
        }
        any_password = any_password || account.password.has_value();
        lines.emplace_back(where.begin.line, config.accounts.size());
        config.accounts.push_back(std::move(account));
      }
    }
    // toml++ keeps a table's keys sorted; the accounts run in file order.
    std::sort(lines.begin(), lines.end());
    std::vector<AccountConfig> ordered;
    ordered.reserve(lines.size());
    for (const auto& [line, index] : lines)
      ordered.push_back(std::move(config.accounts[index]));
    config.accounts = std::move(ordered);
    if (any_password) check_private(path, fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return config;
}

}  // namespace pop3kit::cli
