// The LibTorch version, for the few calls that differ between 1.13 and 2.x (guarded by TORCH_VERSION_MAJOR).
#pragma once

#include <torch/version.h>

#ifndef TORCH_VERSION_MAJOR
#error "torch/version.h did not define TORCH_VERSION_MAJOR"
#endif
