// The named architectures: the one registry that the Java API (MaeConfig.preset), the CLI and the benchmarks read,
// through mae_preset_* in mae.h.
#pragma once

#include <span>

#include "mae.h"

namespace mae {

struct Preset {
    const char* name;         // one spelling everywhere: vit-base16, fashion-mnist, ...
    const char* description;  // one line, for help texts
    mae_config config;        // F32, the reference's LayerNorm eps 1e-6
};

std::span<const Preset> presets();

}  // namespace mae
