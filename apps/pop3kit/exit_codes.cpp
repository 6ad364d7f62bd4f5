// pop3kit command — mapping library errors to sysexits(3) codes.
#include "exit_codes.hpp"

#include "pop3kit/account.hpp"

namespace pop3kit::cli {

int exit_code_for(const Error& error) noexcept {
  const std::error_code ec = error.code;
  if (!ec) return exit_code::ok;
  // Planning: a contradiction in the options is a usage error; an unsafe or
  // unsupported setup is the configuration's.
  if (ec.category() == account_category()) {
    return ec == account_errc::conflicting_options ? exit_code::usage : exit_code::config;
  }
  if (ec.category() != pop3kit::category()) return exit_code::software;
  // Protocol errors first: the whole 2xx range, including values added later.
  if (is_protocol_error(ec)) return exit_code::protocol;

  switch (static_cast<errc>(ec.value())) {
    case errc::host_not_found:
      return exit_code::no_host;
    case errc::connect_failed:
    case errc::greeting_refused:
    // TLS required but not offered, a failed handshake, a rejected
    // certificate: retrying unchanged will not help, and nothing secret was
    // sent.
    case errc::tls_unavailable:
    case errc::tls_failed:
    case errc::certificate_invalid:
      return exit_code::unavailable;
    case errc::timed_out:
    case errc::deadline_exceeded:  // --deadline: a server too slow, maybe only today
    case errc::cancelled:          // a signal ended the run: the next one goes on
    case errc::connection_closed:
    case errc::io_error:
    case errc::temporary_failure:  // [SYS/TEMP], [IN-USE], [LOGIN-DELAY]
      return exit_code::temp_fail;
    case errc::auth_failed:
      return exit_code::no_perm;
    // A plain -ERR (RETR of a message that does not exist, DELE of a deleted
    // one, CAPA not supported), [SYS/PERM], or a server that lacks what was
    // asked for (APOP without a timestamp): retrying will not help, and the
    // configuration is not at fault either.
    case errc::server_error:
    case errc::permanent_failure:
    case errc::unsupported:
      return exit_code::unavailable;
    // The output could not be written (our sink refused data).
    case errc::sink_failed:
      return exit_code::io_error;
    // A user name or number the engine refused to put on the wire.
    case errc::invalid_argument:
    case errc::command_too_long:
      return exit_code::usage;
    case errc::wrong_state:
    case errc::not_connected:
    case errc::engine_failed:
      return exit_code::software;
    default:
      break;
  }
  // Codes added to the library later: keep "try again" retryable.
  return is_temporary(ec) ? exit_code::temp_fail : exit_code::software;
}

Failure failure_from(const Error& error, const std::string& context) {
  // An error without text still says something, with or without context.
  const std::string text = error.message.empty() ? error.code.message() : error.message;
  return Failure(exit_code_for(error), context + text);
}

const char* exit_status_help() noexcept {
  return "EXIT STATUS (sysexits):\n"
         "  0   success\n"
         "  64  usage error: bad option, argument or URL\n"
         "  68  the host name does not resolve\n"
         "  69  unavailable: connection refused, greeting refused, no STLS, TLS handshake\n"
         "      failed, certificate rejected, or the server answered -ERR (e.g. RETR of a\n"
         "      message that does not exist, a refused DELE)\n"
         "  70  internal error in pop3kit\n"
         "  71  the system refused what pop3kit needs at its start: /dev/null for a\n"
         "      closed standard descriptor, the handling of signals\n"
         "  73  cannot create the output: retr -o DIR is not a directory, or cannot be\n"
         "      created or written to (checked before connecting)\n"
         "  74  cannot write the output: standard output (e.g. broken pipe, disk full),\n"
         "      or a message file of retr -o (also when its name is taken: pop3kit\n"
         "      replaces no file)\n"
         "  75  temporary failure, try again later: timeout, --deadline exceeded, dropped\n"
         "      connection, [SYS/TEMP], [IN-USE], [LOGIN-DELAY], another pop3kit fetch of\n"
         "      the account\n"
         "  76  the server broke the POP3 protocol\n"
         "  77  login refused: wrong user name or password, or (SCRAM -PLUS) a channel\n"
         "      binding type the server does not support\n"
         "  78  configuration: no password or token, its command failed, a password over\n"
         "      plain TCP without --allow-plaintext-password, unsupported SASL mechanism,\n"
         "      an error in the config file\n";
}

}  // namespace pop3kit::cli
