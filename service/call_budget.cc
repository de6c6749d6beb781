#include "service/call_budget.h"

#include <grpc/grpc.h>
#include <grpcpp/alarm.h>
#include <grpcpp/server_context.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace annals::service {
namespace {

using grpc::experimental::InterceptionHookPoints;

// What the alarm needs, kept alive by the alarm's callback as long as by the interceptor.
struct Expiry {
  std::mutex mu;
  bool settled = false;  // the call finished, or was already ended by the alarm
  grpc_call* call = nullptr;
  std::string message;
  ~Expiry() {
    if (call != nullptr) grpc_call_unref(call);
  }
};

std::string Seconds(absl::Duration d) { return absl::StrCat(absl::ToDoubleSeconds(d), " s"); }

class BudgetInterceptor final : public grpc::experimental::Interceptor {
 public:
  BudgetInterceptor(grpc::experimental::ServerRpcInfo* info, CallBudget budget) : info_(info), budget_(budget) {}
  ~BudgetInterceptor() override { Settle(); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!armed_) {
      armed_ = true;
      Arm();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Settle();
      // Finished after the budget ran out (the handler did not notice): the caller gets
      // what its own deadline would have given it.
      if (end_ && absl::Now() >= *end_ && methods->GetSendStatus().ok())
        methods->ModifySendStatus(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, expiry_->message));
    }
    methods->Proceed();
  }

 private:
  void Arm() {
    grpc::ServerContextBase* ctx = info_->server_context();
    const absl::Time now = absl::Now();
    const auto deadline = ctx->deadline();
    absl::Duration budget = absl::ZeroDuration();
    std::string why;
    if (deadline == std::chrono::system_clock::time_point::max()) {
      budget = budget_.default_deadline > absl::ZeroDuration() ? budget_.default_deadline : budget_.max_deadline;
      why = "the call set no deadline";
    } else if (budget_.max_deadline > absl::ZeroDuration() && absl::FromChrono(deadline) > now + budget_.max_deadline) {
      budget = budget_.max_deadline;
      why = "the call's deadline is further away than the server's maximum";
    }
    if (budget <= absl::ZeroDuration()) return;
    end_ = now + budget;
    expiry_ = std::make_shared<Expiry>();
    expiry_->call = ctx->c_call();
    grpc_call_ref(expiry_->call);
    expiry_->message = absl::StrCat("the server's time budget for this call ran out after ", Seconds(budget), " (",
                                    why, "; annalsd --default-deadline-seconds, --max-deadline-seconds)");
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(absl::ToChronoTime(*end_), [expiry = expiry_](bool fired) {
      if (!fired) return;
      std::lock_guard lock(expiry->mu);
      if (expiry->settled) return;
      expiry->settled = true;
      grpc_call_cancel_with_status(expiry->call, GRPC_STATUS_DEADLINE_EXCEEDED, expiry->message.c_str(), nullptr);
    });
  }

  // No cancellation from here on; the alarm's callback (if pending) then does nothing.
  void Settle() {
    if (!expiry_) return;
    {
      std::lock_guard lock(expiry_->mu);
      expiry_->settled = true;
    }
    alarm_->Cancel();
  }

  grpc::experimental::ServerRpcInfo* info_;
  const CallBudget budget_;
  bool armed_ = false;
  std::optional<absl::Time> end_;
  std::shared_ptr<Expiry> expiry_;
  std::unique_ptr<grpc::Alarm> alarm_;  // only when armed: most calls carry a deadline
};

class BudgetFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit BudgetFactory(CallBudget budget) : budget_(budget) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    if (info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY) return nullptr;  // streams: no budget
    return new BudgetInterceptor(info, budget_);
  }

 private:
  const CallBudget budget_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallBudgetInterceptorFactory(CallBudget budget) {
  return std::make_unique<BudgetFactory>(budget);
}

}  // namespace annals::service
