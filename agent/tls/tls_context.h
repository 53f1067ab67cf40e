// agent/tls/tls_context.h — TLS for the query service: mutual TLS, ALPN h2, one SSL_CTX owner.
//
// The only file that includes <openssl/ssl.h> is tls_context.cc; everything else sees
// these two types:
//   * TlsContext — an immutable server SSL_CTX built from ApiOptions: TLS 1.3 only (1.2
//     when configured, with AEAD ECDHE suites only, RFC 9113 §9.2.2), ALPN "h2" required
//     (no other protocol is ever selected), client certificate REQUIRED and verified
//     against client_ca (+ CRL for the leaf when configured), clientAuth purpose, no
//     session resumption (every connection presents and is checked against its certificate
//     and the current CRL). A reload builds a new TlsContext; connections keep the one they
//     started with through shared_ptr.
//   * TlsConnection — one SSL over a non-blocking socket it does not own. Its operations
//     never block; they report what they need (read/write readiness) instead.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "agent/config/agent_config.h"
#include "agent/http2/http_types.h"
#include "core/result.h"

struct ssl_ctx_st;
struct ssl_st;

namespace conntrail::tls {

class TlsContext {
 public:
  // Loads certificate, key, client CA and CRL; every failure names the file and reason.
  static Result<std::shared_ptr<TlsContext>> create(const agent::ApiOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* native() const noexcept { return ctx_; }

 private:
  explicit TlsContext(ssl_ctx_st* ctx) noexcept : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

enum class IoStatus {
  kOk,         // progress made (handshake done / bytes moved)
  kWantRead,   // retry when the socket is readable
  kWantWrite,  // retry when the socket is writable
  kClosed,     // the peer closed cleanly (close_notify or EOF)
  kError,      // fatal: drop the connection; error() says why
};

class TlsConnection {
 public:
  static Result<TlsConnection> create(std::shared_ptr<TlsContext> context, int fd);
  TlsConnection(TlsConnection&& other) noexcept;
  TlsConnection& operator=(TlsConnection&& other) noexcept;
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;
  ~TlsConnection();

  // Drives the server handshake; kOk once it completed with a verified client
  // certificate and ALPN h2 selected.
  IoStatus handshake();
  // Reads up to buffer.size() plaintext bytes into buffer; *n is the count on kOk.
  IoStatus read(std::span<char> buffer, std::size_t* n);
  // Writes plaintext; *n bytes were taken on kOk (possibly fewer than given).
  IoStatus write(std::span<const char> data, std::size_t* n);
  // Bytes already decrypted inside OpenSSL, which epoll cannot see.
  bool has_buffered_input() const;
  // Best-effort close_notify (never blocks).
  void shutdown();

  // The verified client certificate (valid after handshake() returned kOk).
  http2::ClientIdentity identity() const;
  // Why the last kError happened (OpenSSL's reason, verification result); no secrets.
  const std::string& error() const noexcept { return error_; }

 private:
  TlsConnection(std::shared_ptr<TlsContext> context, ssl_st* ssl) noexcept
      : context_(std::move(context)), ssl_(ssl) {}
  IoStatus status_from(int ret, const char* what);

  std::shared_ptr<TlsContext> context_;
  ssl_st* ssl_ = nullptr;
  std::string error_;
};

}  // namespace conntrail::tls
