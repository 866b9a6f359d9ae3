// An in-process api::Server on an ephemeral loopback port over a SQLite store
// (behind FailingStore) with identity "alice" and a read+write key.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "api/server.h"
#include "tests/api/fakes.h"
#include "tests/testing/server_process.h"
#include "vault/admin.h"

namespace strongroom::api {

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inner = store::OpenSqliteStore(dir_.path() + "/vault.db");
    ASSERT_TRUE(inner.ok()) << inner.status().ToString();
    store_ = std::make_unique<fakes::FailingStore>(std::move(inner).value());
    ASSERT_TRUE(vault::CreateIdentity(*store_, keys_, "alice", Clock::Real()).ok());
    auto key = vault::CreateApiKey(*store_, "alice", model::kScopeRead | model::kScopeWrite,
                                   std::nullopt, Clock::Real());
    ASSERT_TRUE(key.ok());
    key_ = std::string(key->key.view());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // Starts server_ with `options` on 127.0.0.1, port 0.
  void StartServer(ServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    auto server = Server::Start(options, store_.get(), &keys_, &Clock::Real());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
  }

  strongroom::testing::TempDir dir_;
  fakes::FakeKeyManager keys_;
  std::unique_ptr<fakes::FailingStore> store_;
  std::unique_ptr<Server> server_;
  std::string key_;
};

}  // namespace strongroom::api
