//! The npdmtool JSON format (formats.md §3.6 "JSON conventions"), parsed into an
//! [`NpdmSpec`] with an error naming the key for every malformed value.
//!
//! Same rules as npdmtool: u32/u64 values are hex strings, u8/u16 values are
//! numbers, syscall and kernel-version values may be either; `program_id*` and
//! the older `title_id*` names are both accepted; service hosts are listed
//! before service accesses. Stricter than npdmtool, because a silently dropped
//! value is a wrong permission: unknown keys, unknown capability types, the
//! deprecated object forms, out-of-range values and a main thread priority or
//! core outside `kernel_flags` are errors. Keys starting with `_` are comments.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::NpdmSpec;
use super::fs_access::{FsAccess, SaveDataOwner};
use super::kac::{self, Capability};
use super::sac::{self, ServiceEntry};
use crate::error::{Result, invalid};

/// Longest name: META.name is 0x10 bytes with a NUL (npdmtool copies 15).
pub const NAME_MAX: usize = 15;

const TOP_LEVEL_KEYS: &[&str] = &[
    "name",
    "program_id",
    "title_id",
    "program_id_range_min",
    "title_id_range_min",
    "program_id_range_max",
    "title_id_range_max",
    "main_thread_stack_size",
    "main_thread_priority",
    "default_cpu_id",
    "system_resource_size",
    "version",
    "process_category",
    "address_space_type",
    "is_64_bit",
    "optimize_memory_allocation",
    "disable_device_address_space_merge",
    "enable_alias_region_extra_size",
    "prevent_code_reads",
    "signature_key_generation",
    "is_retail",
    "pool_partition",
    "filesystem_access",
    "service_access",
    "service_host",
    "kernel_capabilities",
];

/// Parses npdmtool JSON text; `file` names it in errors.
pub fn parse_npdm_json(file: &str, text: &str) -> Result<NpdmSpec> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| invalid(file, format!("line {} column {}", e.line(), e.column()), format!("JSON syntax: {e}")))?;
    let p = Parser { file };
    let obj = p.object(&root, "(top level)")?;
    p.known_keys(obj, "", TOP_LEVEL_KEYS)?;

    let name = p.string(p.required(obj, "name")?, "name")?.to_string();
    if name.len() > NAME_MAX {
        return Err(invalid(file, "name", format!("{name:?} is {} bytes; META.name holds {NAME_MAX}", name.len())));
    }
    let program_id = p.either_u64(obj, "program_id", "title_id")?;
    let program_id_range_min = p.either_u64(obj, "program_id_range_min", "title_id_range_min")?;
    let program_id_range_max = p.either_u64(obj, "program_id_range_max", "title_id_range_max")?;
    if program_id_range_min > program_id_range_max {
        return Err(invalid(file, "program_id_range_min", "greater than program_id_range_max"));
    }
    let main_thread_stack_size = p.hex_u32(p.required(obj, "main_thread_stack_size")?, "main_thread_stack_size")?;
    let main_thread_priority = p.number_u8(p.required(obj, "main_thread_priority")?, "main_thread_priority")?;
    if main_thread_priority > kac::LOWEST_THREAD_PRIORITY {
        return Err(invalid(file, "main_thread_priority", format!("{main_thread_priority} > 63")));
    }
    let default_cpu_id = p.number_u8(p.required(obj, "default_cpu_id")?, "default_cpu_id")?;
    if default_cpu_id > kac::HIGHEST_CPU_ID {
        return Err(invalid(file, "default_cpu_id", format!("{default_cpu_id} > 3")));
    }
    let system_resource_size = p.optional_hex_u32_or_zero(obj, "system_resource_size")?;
    let version = match obj.get("version") {
        Some(_) => p.optional_hex_u32_or_zero(obj, "version")?,
        None => p.optional_hex_u32_or_zero(obj, "process_category")?,
    };
    let address_space_type = p.number_u8(p.required(obj, "address_space_type")?, "address_space_type")?;
    if address_space_type > 3 {
        return Err(invalid(file, "address_space_type", format!("{address_space_type} (0..=3)")));
    }
    let mut mmu_flags = address_space_type << 1 | u8::from(p.boolean(p.required(obj, "is_64_bit")?, "is_64_bit")?);
    for (bit, key) in [
        (4, "optimize_memory_allocation"),
        (5, "disable_device_address_space_merge"),
        (6, "enable_alias_region_extra_size"),
        (7, "prevent_code_reads"),
    ] {
        if let Some(v) = obj.get(key) {
            mmu_flags |= u8::from(p.boolean(v, key)?) << bit;
        }
    }
    let signature_key_generation = match obj.get("signature_key_generation") {
        Some(v) => u32::from(p.number_u8(v, "signature_key_generation")?),
        None => 0,
    };
    let is_retail = p.boolean(p.required(obj, "is_retail")?, "is_retail")?;
    let pool_partition = p.number_u8(p.required(obj, "pool_partition")?, "pool_partition")?;
    if pool_partition > 3 {
        return Err(invalid(file, "pool_partition", format!("{pool_partition} (0..=3)")));
    }
    let fs_access = p.fs_access(p.required(obj, "filesystem_access")?)?;

    let mut services = Vec::new();
    for (key, host) in [("service_host", true), ("service_access", false)] {
        let Some(v) = obj.get(key) else { continue };
        let Value::Array(items) = v else {
            return Err(invalid(file, key, "must be an array of service names (the object form is deprecated)"));
        };
        for (i, item) in items.iter().enumerate() {
            let field = format!("{key}[{i}]");
            let name = p.string(item, &field)?;
            sac::check_name(file, &field, name)?;
            services.push(ServiceEntry { name: name.to_string(), host });
        }
    }

    let caps_value = p.required(obj, "kernel_capabilities")?;
    let Value::Array(caps) = caps_value else {
        return Err(invalid(
            file,
            "kernel_capabilities",
            "must be an array of {type, value} (the object form is deprecated)",
        ));
    };
    let mut capabilities = Vec::with_capacity(caps.len());
    for (i, c) in caps.iter().enumerate() {
        capabilities.push(p.capability(c, &format!("kernel_capabilities[{i}]"))?);
    }

    for c in &capabilities {
        if let Capability::KernelFlags { highest_priority, lowest_priority, min_core, max_core } = c {
            if !(*highest_priority..=*lowest_priority).contains(&main_thread_priority) {
                return Err(invalid(
                    file,
                    "main_thread_priority",
                    format!("{main_thread_priority} is outside kernel_flags' {highest_priority}..={lowest_priority}"),
                ));
            }
            if !(*min_core..=*max_core).contains(&default_cpu_id) {
                return Err(invalid(
                    file,
                    "default_cpu_id",
                    format!("{default_cpu_id} is outside kernel_flags' cores {min_core}..={max_core}"),
                ));
            }
        }
    }

    Ok(NpdmSpec {
        name,
        signature_key_generation,
        program_id,
        program_id_range_min,
        program_id_range_max,
        main_thread_stack_size,
        main_thread_priority,
        default_cpu_id,
        system_resource_size,
        version,
        mmu_flags,
        is_retail,
        pool_partition,
        fs_access,
        services,
        capabilities,
    })
}

struct Parser<'a> {
    file: &'a str,
}

impl Parser<'_> {
    fn required<'v>(&self, obj: &'v Map<String, Value>, key: &str) -> Result<&'v Value> {
        obj.get(key).ok_or_else(|| invalid(self.file, key, "missing"))
    }

    fn object<'v>(&self, v: &'v Value, field: &str) -> Result<&'v Map<String, Value>> {
        v.as_object().ok_or_else(|| invalid(self.file, field, "must be an object"))
    }

    fn known_keys(&self, obj: &Map<String, Value>, prefix: &str, known: &[&str]) -> Result<()> {
        for k in obj.keys() {
            if !k.starts_with('_') && !known.contains(&k.as_str()) {
                return Err(invalid(
                    self.file,
                    format!("{prefix}{k}"),
                    format!("unknown key (known: {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn string<'v>(&self, v: &'v Value, field: &str) -> Result<&'v str> {
        v.as_str().ok_or_else(|| invalid(self.file, field, format!("must be a string, found {v}")))
    }

    fn boolean(&self, v: &Value, field: &str) -> Result<bool> {
        v.as_bool().ok_or_else(|| invalid(self.file, field, format!("must be true or false, found {v}")))
    }

    /// A non-negative integer number (npdmtool's u8/u16 fields).
    fn number(&self, v: &Value, field: &str, max: u64) -> Result<u64> {
        let n = v
            .as_u64()
            .ok_or_else(|| invalid(self.file, field, format!("must be a non-negative integer, found {v}")))?;
        if n > max {
            return Err(invalid(self.file, field, format!("{n} is larger than {max}")));
        }
        Ok(n)
    }

    fn number_u8(&self, v: &Value, field: &str) -> Result<u8> {
        Ok(self.number(v, field, u64::from(u8::MAX))? as u8)
    }

    /// A hex string, with or without `0x` (npdmtool's u32/u64 fields).
    fn hex_u64(&self, v: &Value, field: &str) -> Result<u64> {
        let s = self.string(v, field)?;
        let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid(self.file, field, format!("{s:?} is not a hex number")));
        }
        u64::from_str_radix(digits, 16).map_err(|_| invalid(self.file, field, format!("{s:?} does not fit 64 bits")))
    }

    fn hex_u32(&self, v: &Value, field: &str) -> Result<u32> {
        let n = self.hex_u64(v, field)?;
        u32::try_from(n).map_err(|_| invalid(self.file, field, format!("{n:#x} does not fit 32 bits")))
    }

    /// A hex string or a number (syscall ids, min_kernel_version).
    fn hex_or_number(&self, v: &Value, field: &str) -> Result<u64> {
        match v {
            Value::String(_) => self.hex_u64(v, field),
            _ => self.number(v, field, u64::MAX),
        }
    }

    /// npdmtool reads these optional u32s only from hex strings and silently
    /// treats a number as absent (0); so a number is accepted only when it is 0.
    fn optional_hex_u32_or_zero(&self, obj: &Map<String, Value>, key: &str) -> Result<u32> {
        match obj.get(key) {
            None => Ok(0),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(0),
            Some(v @ Value::String(_)) => self.hex_u32(v, key),
            Some(v) => Err(invalid(self.file, key, format!("must be a hex string (npdmtool ignores {v})"))),
        }
    }

    /// `new` if present, else `old` (npdmtool's `program_id` / `title_id` names).
    fn either_u64(&self, obj: &Map<String, Value>, new: &str, old: &str) -> Result<u64> {
        match (obj.get(new), obj.get(old)) {
            (Some(a), Some(b)) => {
                let (a, b) = (self.hex_u64(a, new)?, self.hex_u64(b, old)?);
                if a != b {
                    return Err(invalid(self.file, new, format!("{a:#x} disagrees with {old} {b:#x}")));
                }
                Ok(a)
            }
            (Some(a), None) => self.hex_u64(a, new),
            (None, Some(b)) => self.hex_u64(b, old),
            (None, None) => Err(invalid(self.file, new, format!("missing (or its older name {old})"))),
        }
    }

    fn fs_access(&self, v: &Value) -> Result<FsAccess> {
        let obj = self.object(v, "filesystem_access")?;
        self.known_keys(obj, "filesystem_access.", &["permissions", "content_owner_ids", "save_data_owner_ids"])?;
        let permissions = self.hex_u64(
            obj.get("permissions").ok_or_else(|| invalid(self.file, "filesystem_access.permissions", "missing"))?,
            "filesystem_access.permissions",
        )?;
        let mut fs = FsAccess { permissions, ..FsAccess::default() };
        if let Some(v) = obj.get("content_owner_ids") {
            let items = v
                .as_array()
                .ok_or_else(|| invalid(self.file, "filesystem_access.content_owner_ids", "must be an array"))?;
            for (i, id) in items.iter().enumerate() {
                fs.content_owner_ids.push(self.hex_u64(id, &format!("filesystem_access.content_owner_ids[{i}]"))?);
            }
        }
        if let Some(v) = obj.get("save_data_owner_ids") {
            let items = v
                .as_array()
                .ok_or_else(|| invalid(self.file, "filesystem_access.save_data_owner_ids", "must be an array"))?;
            for (i, item) in items.iter().enumerate() {
                let field = format!("filesystem_access.save_data_owner_ids[{i}]");
                let o = self.object(item, &field)?;
                self.known_keys(o, &format!("{field}."), &["accessibility", "id"])?;
                let acc = o
                    .get("accessibility")
                    .ok_or_else(|| invalid(self.file, format!("{field}.accessibility"), "missing"))?;
                let id = o.get("id").ok_or_else(|| invalid(self.file, format!("{field}.id"), "missing"))?;
                fs.save_data_owners.push(SaveDataOwner {
                    accessibility: self.number_u8(acc, &format!("{field}.accessibility"))?,
                    id: self.hex_u64(id, &format!("{field}.id"))?,
                });
            }
        }
        Ok(fs)
    }

    fn capability(&self, c: &Value, field: &str) -> Result<Capability> {
        let obj = self.object(c, field)?;
        self.known_keys(obj, &format!("{field}."), &["type", "value"])?;
        let ty = self.string(
            obj.get("type").ok_or_else(|| invalid(self.file, format!("{field}.type"), "missing"))?,
            &format!("{field}.type"),
        )?;
        let vf = format!("{field}.value");
        let value = obj.get("value").ok_or_else(|| invalid(self.file, &vf, "missing"))?;
        let f = self.file;
        match ty {
            "kernel_flags" => {
                let o = self.object(value, &vf)?;
                self.known_keys(
                    o,
                    &format!("{vf}."),
                    &["highest_thread_priority", "lowest_thread_priority", "highest_cpu_id", "lowest_cpu_id"],
                )?;
                let get = |k: &str, max: u8| -> Result<u8> {
                    let kf = format!("{vf}.{k}");
                    let n = self.number_u8(o.get(k).ok_or_else(|| invalid(f, &kf, "missing"))?, &kf)?;
                    if n > max {
                        return Err(invalid(f, kf, format!("{n} > {max}")));
                    }
                    Ok(n)
                };
                let a = get("highest_thread_priority", kac::LOWEST_THREAD_PRIORITY)?;
                let b = get("lowest_thread_priority", kac::LOWEST_THREAD_PRIORITY)?;
                let min_core = get("lowest_cpu_id", kac::HIGHEST_CPU_ID)?;
                let max_core = get("highest_cpu_id", kac::HIGHEST_CPU_ID)?;
                if min_core > max_core {
                    return Err(invalid(f, format!("{vf}.lowest_cpu_id"), "greater than highest_cpu_id"));
                }
                // npdmtool orders the two priorities itself; so do we.
                Ok(Capability::KernelFlags {
                    highest_priority: a.min(b),
                    lowest_priority: a.max(b),
                    min_core,
                    max_core,
                })
            }
            "syscalls" => {
                let o = self.object(value, &vf)?;
                let mut ids = BTreeSet::new();
                for (name, id) in o {
                    let kf = format!("{vf}.{name}");
                    let n = self.hex_or_number(id, &kf)?;
                    if n >= u64::from(kac::SYSCALL_ID_LIMIT) {
                        return Err(invalid(f, kf, format!("{n:#x} is not an SVC id in 0..=0xBF")));
                    }
                    ids.insert(n as u32);
                }
                Ok(Capability::Syscalls(ids))
            }
            "map" => {
                let o = self.object(value, &vf)?;
                self.known_keys(o, &format!("{vf}."), &["address", "size", "is_ro", "is_io"])?;
                let req = |k: &str| o.get(k).ok_or_else(|| invalid(f, format!("{vf}.{k}"), "missing"));
                let address = self.hex_u64(req("address")?, &format!("{vf}.address"))?;
                let size = self.hex_u64(req("size")?, &format!("{vf}.size"))?;
                if address % 0x1000 != 0 || address >> 40 != 0 {
                    return Err(invalid(f, format!("{vf}.address"), format!("{address:#x} is not a page below 2^40")));
                }
                if size % 0x1000 != 0 || size >> 32 != 0 {
                    return Err(invalid(
                        f,
                        format!("{vf}.size"),
                        format!("{size:#x} is not a page multiple below 4 GiB"),
                    ));
                }
                Ok(Capability::Map {
                    address,
                    size,
                    is_ro: self.boolean(req("is_ro")?, &format!("{vf}.is_ro"))?,
                    is_io: self.boolean(req("is_io")?, &format!("{vf}.is_io"))?,
                })
            }
            "map_page" => {
                let page = self.hex_u64(value, &vf)?;
                if page % 0x1000 != 0 || page >> 36 != 0 {
                    return Err(invalid(f, vf, format!("{page:#x} is not a page below 2^36")));
                }
                Ok(Capability::MapPage(page))
            }
            "map_region" => {
                let items = value.as_array().ok_or_else(|| invalid(f, &vf, "must be an array"))?;
                if items.len() > 3 {
                    return Err(invalid(f, vf, format!("{} regions; at most 3", items.len())));
                }
                let mut regions = [(0u8, false); 3];
                for (i, item) in items.iter().enumerate() {
                    let rf = format!("{vf}[{i}]");
                    let o = self.object(item, &rf)?;
                    self.known_keys(o, &format!("{rf}."), &["region_type", "is_ro"])?;
                    let rt = o.get("region_type").ok_or_else(|| invalid(f, format!("{rf}.region_type"), "missing"))?;
                    let ro = o.get("is_ro").ok_or_else(|| invalid(f, format!("{rf}.is_ro"), "missing"))?;
                    let region_type = self.number(rt, &format!("{rf}.region_type"), 0x3F)? as u8;
                    regions[i] = (region_type, self.boolean(ro, &format!("{rf}.is_ro"))?);
                }
                Ok(Capability::MapRegion(regions))
            }
            "irq_pair" => {
                let items = value
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| invalid(f, &vf, "must be an array of two IRQ numbers (or null)"))?;
                let mut irqs = [kac::IRQ_NONE; 2];
                for (i, item) in items.iter().enumerate() {
                    if !item.is_null() {
                        irqs[i] = self.number(item, &format!("{vf}[{i}]"), u64::from(kac::IRQ_NONE))? as u16;
                    }
                }
                Ok(Capability::IrqPair(irqs))
            }
            "application_type" => Ok(Capability::ApplicationType(self.number(value, &vf, 7)? as u8)),
            "min_kernel_version" => {
                let v = self.hex_or_number(value, &vf)?;
                if v > 0xFFFF {
                    return Err(invalid(f, vf, format!("{v:#x} does not fit 16 bits")));
                }
                Ok(Capability::MinKernelVersion(v as u32))
            }
            "handle_table_size" => Ok(Capability::HandleTableSize(self.number(
                value,
                &vf,
                u64::from(kac::HANDLE_TABLE_SIZE_LIMIT),
            )? as u16)),
            "debug_flags" => {
                let o = self.object(value, &vf)?;
                self.known_keys(o, &format!("{vf}."), &["allow_debug", "force_debug_prod", "force_debug"])?;
                let flag =
                    |k: &str| -> Result<bool> { o.get(k).map_or(Ok(false), |v| self.boolean(v, &format!("{vf}.{k}"))) };
                let (allow_debug, force_debug_prod, force_debug) =
                    (flag("allow_debug")?, flag("force_debug_prod")?, flag("force_debug")?);
                if u8::from(allow_debug) + u8::from(force_debug_prod) + u8::from(force_debug) > 1 {
                    return Err(invalid(f, vf, "only one debug flag may be set"));
                }
                Ok(Capability::DebugFlags { allow_debug, force_debug_prod, force_debug })
            }
            other => Err(invalid(
                f,
                format!("{field}.type"),
                format!(
                    "unknown capability type {other:?} (known: kernel_flags, syscalls, map, map_page, map_region, \
                     irq_pair, application_type, min_kernel_version, handle_table_size, debug_flags)"
                ),
            )),
        }
    }
}
