// What the benchmark drivers share: "--name value" flags and a channel of its own per index.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>

namespace annals::bench {

inline std::map<std::string, std::string> ParseFlags(int argc, char** argv, int first) {
  std::map<std::string, std::string> flags;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::cerr << "bad argument: " << a << "\n";
      std::exit(2);
    }
    flags[a.substr(2)] = argv[++i];
  }
  return flags;
}

// The flag's value; `def` when it is absent, and when `def` is empty the flag is required.
inline std::string Flag(const std::map<std::string, std::string>& f, const std::string& name,
                        const std::string& def = "") {
  auto it = f.find(name);
  if (it != f.end()) return it->second;
  if (def.empty()) {
    std::cerr << "--" << name << " is required\n";
    std::exit(2);
  }
  return def;
}

// A channel with a connection of its own (distinct arguments per index).
inline std::shared_ptr<grpc::Channel> MakeChannel(const std::string& addr, int index) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  args.SetInt("annals.bench.channel", index);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
}

}  // namespace annals::bench
