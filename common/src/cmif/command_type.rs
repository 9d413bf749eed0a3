//! The HIPC `type` values CMIF gives meaning to, and the Control commands of IHipcManager.

/// Control (type 5) command ids of IHipcManager (`horizon-ipc.md` §5.2, STR-IHM).
pub mod control {
    /// ConvertCurrentObjectToDomain.
    pub const CONVERT_CURRENT_OBJECT_TO_DOMAIN: u32 = 0;
    /// CopyFromCurrentDomain.
    pub const COPY_FROM_CURRENT_DOMAIN: u32 = 1;
    /// CloneCurrentObject.
    pub const CLONE_CURRENT_OBJECT: u32 = 2;
    /// QueryPointerBufferSize: replies the pointer-buffer size as a u16.
    pub const QUERY_POINTER_BUFFER_SIZE: u32 = 3;
    /// CloneCurrentObjectEx.
    pub const CLONE_CURRENT_OBJECT_EX: u32 = 4;
}

/// HIPC `type` (tag) values of CMIF (`horizon-ipc.md` §6.1). Note 1 is LegacyRequest
/// and 2 is Close.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u16)]
pub enum CommandType {
    /// 0: invalid; libstratosphere uses it as the reply type.
    Invalid = 0,
    /// 1.
    LegacyRequest = 1,
    /// 2: close the session (no payload, no reply).
    Close = 2,
    /// 3.
    LegacyControl = 3,
    /// 4: a command of the service.
    Request = 4,
    /// 5: a command of IHipcManager (see [`control`]).
    Control = 5,
    /// 6 (5.0.0+).
    RequestWithContext = 6,
    /// 7 (5.0.0+).
    ControlWithContext = 7,
}

impl CommandType {
    /// The type for a HIPC tag, if it is one of §6.1.
    pub const fn from_tag(tag: u16) -> Option<CommandType> {
        Some(match tag {
            0 => CommandType::Invalid,
            1 => CommandType::LegacyRequest,
            2 => CommandType::Close,
            3 => CommandType::LegacyControl,
            4 => CommandType::Request,
            5 => CommandType::Control,
            6 => CommandType::RequestWithContext,
            7 => CommandType::ControlWithContext,
            _ => return None,
        })
    }

    /// The HIPC tag.
    pub const fn tag(self) -> u16 {
        self as u16
    }
}
