#include "tests/support/tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <stdexcept>

namespace ringwatch::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;

namespace {

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error("bad certificate extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* NewCert(EVP_PKEY* key, const std::string& cn, long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

void WritePem(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  PEM_write_X509(f, cert);
  std::fclose(f);
}

void WritePem(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace

struct TestCa::Impl {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  long serial = 1;
  ~Impl() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestCa::TestCa(const std::string& dir, const std::string& name)
    : impl_(std::make_unique<Impl>()), dir_(dir) {
  impl_->key = NewKey();
  impl_->cert = NewCert(impl_->key, name, impl_->serial++);
  X509_set_issuer_name(impl_->cert, X509_get_subject_name(impl_->cert));
  AddExtension(impl_->cert, impl_->cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(impl_->cert, impl_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(impl_->cert, impl_->cert, NID_subject_key_identifier, "hash");
  X509_sign(impl_->cert, impl_->key, EVP_sha256());
  ca_ = {dir_ + "/" + name + "-ca.pem", dir_ + "/" + name + "-ca.key"};
  WritePem(ca_.cert_file, impl_->cert);
  WritePem(ca_.key_file, impl_->key);
}

TestCa::~TestCa() = default;

PemPair TestCa::Issue(const std::string& common_name, bool server) {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(key, common_name, impl_->serial++);
  X509_set_issuer_name(cert, X509_get_subject_name(impl_->cert));
  AddExtension(cert, impl_->cert, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert, impl_->cert, NID_authority_key_identifier, "keyid");
  AddExtension(cert, impl_->cert, NID_key_usage, "critical,digitalSignature");
  if (server) {
    AddExtension(cert, impl_->cert, NID_ext_key_usage, "serverAuth");
    AddExtension(cert, impl_->cert, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost");
  } else {
    AddExtension(cert, impl_->cert, NID_ext_key_usage, "clientAuth");
  }
  X509_sign(cert, impl_->key, EVP_sha256());
  PemPair out{dir_ + "/" + common_name + ".pem", dir_ + "/" + common_name + ".key"};
  WritePem(out.cert_file, cert);
  WritePem(out.key_file, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TlsResult TlsExchange(uint16_t port, const std::string& request, const TlsClientOptions& options,
                      std::chrono::milliseconds deadline) {
  TlsResult result;
  try {
    net::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    if (options.max_version != 0) {
      SSL_CTX_set_min_proto_version(ctx.native_handle(), 0);
      SSL_CTX_set_max_proto_version(ctx.native_handle(), options.max_version);
      SSL_CTX_set_security_level(ctx.native_handle(), 0);  // allow the old protocol here
    }
    if (!options.ca_file.empty()) {
      ctx.load_verify_file(options.ca_file);
      ctx.set_verify_mode(ssl::verify_peer);
    } else {
      ctx.set_verify_mode(ssl::verify_none);
    }
    if (!options.cert_file.empty()) {
      ctx.use_certificate_chain_file(options.cert_file);
      ctx.use_private_key_file(options.key_file, ssl::context::pem);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    auto& tcp = beast::get_lowest_layer(stream);
    tcp.expires_after(deadline);
    tcp.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::error_code ec;
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) {
      result.error = "handshake: " + ec.message();
      return result;
    }
    if (X509* peer = SSL_get1_peer_certificate(stream.native_handle())) {
      char cn[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
      result.peer_subject = cn;
      X509_free(peer);
    }
    // TLS 1.3 sends the server's verdict on the client certificate after the
    // client's handshake ends: a refusal shows up on the first read.
    result.handshake = true;
    net::write(stream, net::buffer(request), ec);
    if (ec) {
      result.error = "write: " + ec.message();
      return result;
    }
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res, ec);
    if (ec) {
      result.error = "read: " + ec.message();
      return result;
    }
    RawResponse raw;
    raw.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      raw.headers[name] = std::string(field.value());
    }
    raw.body = res.body();
    result.response = std::move(raw);
    stream.shutdown(ec);
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  return result;
}

}  // namespace ringwatch::testing
