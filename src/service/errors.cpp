#include "service/errors.h"

namespace rustland::service {

const char* error_name(ErrorCode code) {
    switch (code) {
    case ErrorCode::PermissionDenied: return "org.scx.Rustland1.Error.PermissionDenied";
    case ErrorCode::NoSuchProcess: return "org.scx.Rustland1.Error.NoSuchProcess";
    case ErrorCode::NoSuchHold: return "org.scx.Rustland1.Error.NoSuchHold";
    case ErrorCode::LimitExceeded: return "org.scx.Rustland1.Error.LimitExceeded";
    case ErrorCode::InvalidArgument: return "org.scx.Rustland1.Error.InvalidArgument";
    case ErrorCode::BadConfig: return "org.scx.Rustland1.Error.BadConfig";
    case ErrorCode::Failed: return "org.scx.Rustland1.Error.Failed";
    }
    return "org.scx.Rustland1.Error.Failed";
}

}  // namespace rustland::service
