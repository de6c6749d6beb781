// Watches grpc.health.v1 on `channel` while a server drains: the probe must see SERVING,
// then NOT_SERVING once `stop` (run on another thread) begins, before the server goes away.
// Shared by the drain tests of the serving port (admin_test) and the health port (auth_test).
#pragma once

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <thread>

#include "tests/support/health.grpc.pb.h"

namespace annals::testing {

inline void ExpectNotServingWhenStopped(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::function<void()>& stop) {
  using grpc::health::v1::HealthCheckResponse;
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  auto watch = stub->Watch(&ctx, req);
  HealthCheckResponse resp;
  ASSERT_TRUE(watch->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  std::thread stopper(stop);
  const bool read = watch->Read(&resp);
  EXPECT_TRUE(read);
  if (read) {
    EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  }
  ctx.TryCancel();
  while (watch->Read(&resp)) {
  }
  watch->Finish();
  stopper.join();
}

}  // namespace annals::testing
