// agent/http2/http_types.h — the seam between the HTTP/2 server and the API.
//
// The server (agent/http2/) owns sockets, TLS and nghttp2 sessions; the API
// (agent/api/) owns meaning. They meet here: the server turns a complete
// request stream into an HttpRequest (with the verified client certificate's
// identity), calls the Handler on the event-loop thread, and sends the
// HttpResponse. A Handler must return quickly; work that can take long (a
// query over 30 days) belongs in a BodySource, which the server pulls from
// as the client's flow-control window allows, so server memory stays bounded
// whatever the size of the result.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace conntrail::http2 {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Who is on the other end, from the client certificate the TLS layer verified.
struct ClientIdentity {
  std::string cert_sha256;  // lowercase hex of the DER certificate's SHA-256
  std::string subject;      // RFC 2253 text
  std::string issuer;       // RFC 2253 text
  std::string serial;       // uppercase hex
};

struct HttpRequest {
  std::string method;        // ":method"
  std::string path;          // ":path" without the query string
  std::string query;         // after '?', undecoded; empty when none
  HeaderList headers;        // regular headers, names lowercase
  std::string body;          // bounded by the configured request body limit
  ClientIdentity client;
  std::string peer_address;  // "127.0.0.1:54321" or "[::1]:54321"

  // First header with this lowercase name, or empty.
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

// A response body produced piece by piece. read() is called on the event-loop
// thread and must not block: it returns kWouldBlock when nothing is ready,
// and the producer then calls the resume function (from any thread) once
// there is more, so the server asks again.
class BodySource {
 public:
  enum class Status { kData, kWouldBlock, kEnd, kError };
  struct Chunk {
    Status status = Status::kEnd;
    std::size_t length = 0;  // bytes written into the buffer (kData, and kEnd with a tail)
  };

  virtual ~BodySource() = default;
  // Called once, before the first read(). Thread-safe; may be called after
  // the stream is gone (then it does nothing).
  virtual void set_resume(std::function<void()> resume) = 0;
  virtual Chunk read(std::span<char> buffer) = 0;
  // Trailers to send after the last byte (e.g. the SHA-256 of the body); may be empty.
  virtual HeaderList trailers() { return {}; }
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;                // content-type etc.; names lowercase
  std::string body;                  // used when stream is null
  std::unique_ptr<BodySource> stream;

  static HttpResponse json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.headers.emplace_back("content-type", "application/json");
    r.body = std::move(body);
    return r;
  }
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

}  // namespace conntrail::http2
