//! The HIPC fields both builders fill: counts that must fit their bit fields, and the
//! special header (pid flag, copy and move handles; `horizon-ipc.md` §1.3).

use super::error::CmifError;
use crate::hipc::{HipcError, MessageBuilder, SpecialHeader};

pub(super) fn u16_count(len: usize, field: crate::hipc::Field) -> Result<u16, CmifError> {
    u16::try_from(len).map_err(|_| CmifError::Hipc(HipcError::FieldOverflow { field, value: len as u64, max: 0xFFFF }))
}

pub(super) fn u8_count(len: usize, field: crate::hipc::Field) -> Result<u8, CmifError> {
    match u8::try_from(len) {
        Ok(n) if n <= 15 => Ok(n),
        _ => Err(CmifError::Hipc(HipcError::FieldOverflow { field, value: len as u64, max: 15 })),
    }
}

/// Special header for a pid flag and handles, `None` when nothing is set (§1.3).
pub(super) fn special_for(
    process_id: Option<u64>,
    copy: &[u32],
    mv: &[u32],
) -> Result<Option<SpecialHeader>, CmifError> {
    use crate::hipc::Field;
    let s = SpecialHeader {
        send_pid: process_id.is_some(),
        copy_handle_count: u8_count(copy.len(), Field::CopyHandleCount)?,
        move_handle_count: u8_count(mv.len(), Field::MoveHandleCount)?,
    };
    Ok(if s.is_needed() { Some(s) } else { None })
}

pub(super) fn fill_special(
    b: &mut MessageBuilder<'_>,
    process_id: Option<u64>,
    copy: &[u32],
    mv: &[u32],
) -> Result<(), CmifError> {
    if let Some(pid) = process_id {
        b.set_process_id(pid)?;
    }
    for (i, &h) in copy.iter().enumerate() {
        b.set_copy_handle(i, h)?;
    }
    for (i, &h) in mv.iter().enumerate() {
        b.set_move_handle(i, h)?;
    }
    Ok(())
}
