#include "service/errors.h"

#include <rustland1_names.h>

namespace rustland::service {

const char* error_name(ErrorCode code) {
    using namespace dbus_names::error;
    switch (code) {
    case ErrorCode::PermissionDenied: return kPermissionDenied;
    case ErrorCode::NoSuchProcess: return kNoSuchProcess;
    case ErrorCode::NoSuchHold: return kNoSuchHold;
    case ErrorCode::LimitExceeded: return kLimitExceeded;
    case ErrorCode::InvalidArgument: return kInvalidArgument;
    case ErrorCode::BadConfig: return kBadConfig;
    case ErrorCode::Failed: return kFailed;
    }
    return kFailed;
}

}  // namespace rustland::service
