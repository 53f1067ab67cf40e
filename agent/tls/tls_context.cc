#include "agent/tls/tls_context.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <utility>

#include "core/handle.h"

namespace conntrail::tls {
namespace {

using SslCtx = Handle<SSL_CTX, SSL_CTX_free>;
using Bio = Handle<BIO, BIO_free_all>;
using Bn = Handle<BIGNUM, BN_free>;

// The oldest queued OpenSSL error as text, and the queue cleared (errors are per thread).
std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};

// RFC 7301 §3.2: no overlap means no_application_protocol; we serve HTTP/2 only.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnH2, sizeof(kAlpnH2), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string name_text(const X509_NAME* name) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::create(const agent::ApiOptions& o) {
  SslCtx ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return fail(ErrorCode::kInternal, "SSL_CTX_new: " + openssl_error());
  const int min = o.tls_min_version == agent::TlsVersion::kTls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx.get(), min);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  // TLS 1.2 only with forward-secret AEAD suites (RFC 9113 §9.2.2 forbids the rest for h2).
  if (SSL_CTX_set_cipher_list(ctx.get(), "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return fail(ErrorCode::kInternal, "cipher list: " + openssl_error());
  }
  // No renegotiation, no compression, no resumption: every connection is a full handshake
  // whose client certificate is checked against the CRL loaded now.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                     SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                     // HTTP/2 frames its own messages: a TCP close without
                                     // close_notify is an ordinary disconnect, not an error.
                                     SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);

  if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.tls_cert.c_str()) != 1) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("api.tls_cert {}: {}", o.tls_cert, openssl_error()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("api.tls_key {}: {}", o.tls_key, openssl_error()));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("api.tls_key {} does not match api.tls_cert {}", o.tls_key, o.tls_cert));
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), o.client_ca.c_str(), nullptr) != 1) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("api.client_ca {}: {}", o.client_ca, openssl_error()));
  }
  // The CAs we accept, sent in CertificateRequest so clients pick the right certificate.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca.c_str());
  if (names == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("api.client_ca {}: no certificate in the file", o.client_ca));
  }
  SSL_CTX_set_client_CA_list(ctx.get(), names);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  if (!o.crl.empty()) {
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (lookup == nullptr || X509_load_crl_file(lookup, o.crl.c_str(), X509_FILETYPE_PEM) <= 0) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("api.crl {}: {}", o.crl, openssl_error()));
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  X509_STORE_set_purpose(store, X509_PURPOSE_SSL_CLIENT);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(ctx.get(), 4);
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, nullptr);
  ERR_clear_error();
  return std::shared_ptr<TlsContext>(new TlsContext(ctx.release()));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<TlsConnection> TlsConnection::create(std::shared_ptr<TlsContext> context, int fd) {
  SSL* ssl = SSL_new(context->native());
  if (ssl == nullptr) return fail(ErrorCode::kInternal, "SSL_new: " + openssl_error());
  TlsConnection c(std::move(context), ssl);
  if (SSL_set_fd(ssl, fd) != 1) return fail(ErrorCode::kInternal, "SSL_set_fd: " + openssl_error());
  SSL_set_accept_state(ssl);
  return c;
}

TlsConnection::TlsConnection(TlsConnection&& other) noexcept
    : context_(std::move(other.context_)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      error_(std::move(other.error_)) {}

TlsConnection& TlsConnection::operator=(TlsConnection&& other) noexcept {
  if (this != &other) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = std::exchange(other.ssl_, nullptr);
    context_ = std::move(other.context_);
    error_ = std::move(other.error_);
  }
  return *this;
}

TlsConnection::~TlsConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

IoStatus TlsConnection::status_from(int ret, const char* what) {
  const int err = SSL_get_error(ssl_, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      return IoStatus::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return IoStatus::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return IoStatus::kClosed;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        error_ = fmt::format("{}: connection closed by peer", what);
        ERR_clear_error();
        return IoStatus::kClosed;
      }
      [[fallthrough]];
    default: {
      error_ = fmt::format("{}: {}", what, openssl_error());
      const long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK) {
        error_ += fmt::format(" (client certificate: {})", X509_verify_cert_error_string(verify));
      }
      return IoStatus::kError;
    }
  }
}

IoStatus TlsConnection::handshake() {
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_);
  if (ret != 1) return status_from(ret, "TLS handshake");
  // A client that offered no ALPN never reached select_alpn(): refuse it here.
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &proto, &len);
  if (len != 2 || proto[0] != 'h' || proto[1] != '2') {
    error_ = "TLS handshake: client did not negotiate ALPN h2";
    return IoStatus::kError;
  }
  if (SSL_get0_peer_certificate(ssl_) == nullptr || SSL_get_verify_result(ssl_) != X509_V_OK) {
    error_ = "TLS handshake: no verified client certificate";  // cannot happen with VERIFY_PEER
    return IoStatus::kError;
  }
  return IoStatus::kOk;
}

IoStatus TlsConnection::read(std::span<char> buffer, std::size_t* n) {
  ERR_clear_error();
  *n = 0;
  std::size_t got = 0;
  const int ret = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &got);
  if (ret == 1) {
    *n = got;
    return IoStatus::kOk;
  }
  return status_from(ret, "TLS read");
}

IoStatus TlsConnection::write(std::span<const char> data, std::size_t* n) {
  ERR_clear_error();
  *n = 0;
  std::size_t put = 0;
  const int ret = SSL_write_ex(ssl_, data.data(), data.size(), &put);
  if (ret == 1) {
    *n = put;
    return IoStatus::kOk;
  }
  return status_from(ret, "TLS write");
}

bool TlsConnection::has_buffered_input() const { return SSL_pending(ssl_) > 0; }

void TlsConnection::shutdown() {
  ERR_clear_error();
  SSL_shutdown(ssl_);  // one attempt: we do not wait for the peer's close_notify
  ERR_clear_error();
}

http2::ClientIdentity TlsConnection::identity() const {
  http2::ClientIdentity id;
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return id;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < md_len; ++i) {
      id.cert_sha256.push_back(kHex[md[i] >> 4]);
      id.cert_sha256.push_back(kHex[md[i] & 0xf]);
    }
  }
  id.subject = name_text(X509_get_subject_name(cert));
  id.issuer = name_text(X509_get_issuer_name(cert));
  Bn bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (bn) {
    char* hex = BN_bn2hex(bn.get());
    if (hex != nullptr) {
      id.serial = hex;
      OPENSSL_free(hex);
    }
  }
  return id;
}

}  // namespace conntrail::tls
