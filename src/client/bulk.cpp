// Bulk operations: runners of the session layer's Batch, and the writes it
// asks for (what the socket takes now, after the check that nothing came
// unasked before commands go out with none in flight, which keeps that
// check off the path of a full pipeline).
#include <chrono>

#include "client_detail.hpp"
#include "deadline.hpp"
#include "pop3kit/client.hpp"

namespace pop3kit {

std::optional<std::uint64_t> Client::highest_message() const noexcept {
  return highest_;
}

bool Client::pipelining() const noexcept {
  return options_.pipelining == ClientOptions::Pipelining::automatic && caps_.has("PIPELINING");
}

Result<void> Client::check_numbers(std::span<const std::uint64_t> numbers, proto::Command c) const {
  if (!transport_) return Error(errc::not_connected, "not connected");
  if (auto bad = session::check_numbers(*engine_, c, numbers)) return std::move(*bad);
  return {};
}

// Before commands go out while none is awaiting an answer, the server must
// have said nothing (session::must_be_quiet()). A zero-timeout read finds
// what has arrived; with nothing outstanding that costs one system call per
// lock-step command and nothing while a pipeline is full.
Result<void> Client::check_quiet() {
  if (!session::must_be_quiet(*engine_)) return {};
  if (auto e = session::buffered_unasked(*engine_)) return fail(std::move(*e));
  char scratch[512];
  auto n = transport_->read_some(scratch, std::chrono::milliseconds(0));
  if (!n) {
    if (n.error().code == errc::timed_out) return {};
    return fail(std::move(n).error());
  }
  return fail(session::unasked_error(std::string_view(scratch, *n)));
}

// session::Want::write_ready: writes what the transport takes at once,
// without waiting; the rest stays in the engine's output for the next call.
// While a pipeline runs, this is how commands go out, so that the client
// never sits in a write while the server sits in one too (a server that
// answers in full before it reads on fills its socket, and ours, when nobody
// reads). Blocking on a read instead is safe: commands go out in order, so
// the oldest outstanding one, whose answer is awaited, has been written in
// full (a socket full of later ones would mean the server is not reading,
// and so has that one).
Result<void> Client::write_ready() {
  if (auto quiet = check_quiet(); !quiet) return quiet;
  while (!engine_->pending_output().empty()) {
    auto n = transport_->write_some(engine_->pending_output(), std::chrono::milliseconds(0));
    if (!n) {
      if (n.error().code == errc::timed_out) return {};
      return fail(io_error(std::move(n).error()));
    }
    engine_->consume_output(*n);
  }
  return {};
}

// The bulk calls run a session::Batch, one operation (and one deadline) each.
Result<void> Client::retrieve_many(std::span<const std::uint64_t> numbers, MessageHandler& handler,
                                   std::span<const std::uint64_t> sizes) {
  OperationScope op(*this, "RETR");
  session::Batch batch(facts(), numbers, handler, sizes);
  return run(batch);
}

Result<void> Client::top_many(std::span<const std::uint64_t> numbers, std::uint64_t lines,
                              MessageHandler& handler) {
  OperationScope op(*this, "TOP");
  session::Batch batch(facts(), numbers, lines, handler);
  return run(batch);
}

Result<std::vector<Result<void>>> Client::dele_many(std::span<const std::uint64_t> numbers) {
  OperationScope op(*this, "DELE");
  session::Batch batch(facts(), numbers);
  auto r = run(batch);
  deleted_ += batch.deleted();
  if (!r) return std::move(r).error();
  return std::move(batch.results());
}

Result<std::vector<MessageEntry>> Client::list_with_uidl() {
  Query listing(Query::Kind::listing);
  if (auto r = query(listing); !r) return std::move(r).error();
  return std::move(listing.entries());
}

}  // namespace pop3kit
