//! The mode decision, as pure functions (host-tested; [`crate::horizon`] and
//! [`crate::report_file`] apply them on the Switch).
//!
//! # What a launch tells the client
//! Only Atmosphère can run the sysmodule, and asking sm about it is safe only through
//! HasService (command 65100), which Atmosphère's sm and Eden's answer but Ryujinx's does
//! not (Eden `src/core/hle/service/sm/sm.cpp` `SM::AtmosphereHasService`; Eden cannot run
//! sysmodules anyway). So the client must know whether it runs on Atmosphère. A loader config alone does not
//! say so: Eden started with program arguments passes one too (x0 = config, x1 = -1,
//! `lr` = the first `svc #7` in the NRO's text; entries MainThreadHandle, AppletType =
//! Application, Argv, EndOfList, and no HosVersion, no OverrideHeap: Eden
//! `src/core/loader/nro.cpp` `LoadNroImpl`, `src/core/hle/kernel/k_process.cpp`
//! `KProcess::Run`). What says so is the HosVersion entry whose value[1] is `ATMOSPHR`
//! (nx-hbloader `source/main.c` `loadNro` writes it when `hosversionIsAtmosphere()`); rt
//! reports it as `rt::env().is_atmosphere`.
//!
//! # The rules
//! - Atmosphère ([`Lookup::HasServiceFirst`]): ask HasService for `xcbuf` and `xcbuf:i`;
//!   both there -> [`ServerKind::Sysmodule`]; otherwise -> the in-process server, and the
//!   report's first line says the sysmodule is missing and why that usually is
//!   ([`ServerKind::SysmoduleMissing`]). The report file: HasService("fsp-srv") first.
//! - Anything else ([`Lookup::Direct`]: no loader config, as Eden and Ryujinx start an NRO
//!   without arguments; or a config without the Atmosphère HosVersion, as Eden with
//!   arguments): no sysmodule can run -> [`ServerKind::InProcess`], no sm request for it.
//!   The report file: GetServiceHandle("fsp-srv") directly (the emulators serve it).
//!
//! GetServiceHandle is never sent for a service that may be absent: for an absent one sm
//! defers the request and the caller blocks forever (Atmosphère `sm_service_manager.cpp`
//! `GetServiceHandle`, Eden) or the emulator aborts (Ryujinx).

use xcbuf_common::xcbuf::{INDEXED, SINGLE};

use crate::report::ServerKind;

/// How the client may look services up with sm.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lookup {
    /// Atmosphère: HasService first; GetServiceHandle only for what it reports.
    HasServiceFirst,
    /// Not Atmosphère: no sysmodule; services the system always has (fsp-srv) are asked
    /// for directly.
    Direct,
}

impl Lookup {
    /// From the launch: `atmosphere` is "the loader config had HosVersion tagged
    /// `ATMOSPHR`" (false without a loader config).
    pub fn from_launch(atmosphere: bool) -> Lookup {
        if atmosphere { Lookup::HasServiceFirst } else { Lookup::Direct }
    }
}

/// The sysmodule's services, as sm knows them.
pub const SERVICES: [&str; 2] = [SINGLE.name, INDEXED.name];

/// Which server the suite uses: `has_service(name)` is sm's HasService, asked only with
/// [`Lookup::HasServiceFirst`].
pub fn choose_server<E>(
    lookup: Lookup,
    mut has_service: impl FnMut(&'static str) -> Result<bool, E>,
) -> Result<ServerKind, E> {
    match lookup {
        Lookup::Direct => Ok(ServerKind::InProcess),
        Lookup::HasServiceFirst => {
            let [single, indexed] = SERVICES;
            let single = has_service(single)?;
            let indexed = has_service(indexed)?;
            Ok(if single && indexed { ServerKind::Sysmodule } else { ServerKind::SysmoduleMissing { single, indexed } })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    fn asked(lookup: Lookup, present: &[&str]) -> (ServerKind, Vec<&'static str>) {
        let mut names = Vec::new();
        let kind = choose_server::<()>(lookup, |name| {
            names.push(name);
            Ok(present.contains(&name))
        })
        .unwrap();
        (kind, names)
    }

    #[test]
    fn only_the_atmosphere_hos_version_means_has_service() {
        assert_eq!(Lookup::from_launch(true), Lookup::HasServiceFirst);
        // No loader config (Eden, Ryujinx), or Eden's config with Argv and no HosVersion.
        assert_eq!(Lookup::from_launch(false), Lookup::Direct);
    }

    #[test]
    fn atmosphere_with_both_services_uses_the_sysmodule() {
        let (kind, names) = asked(Lookup::HasServiceFirst, &[SINGLE.name, INDEXED.name]);
        assert_eq!(kind, ServerKind::Sysmodule);
        assert_eq!(names, [SINGLE.name, INDEXED.name]);
    }

    #[test]
    fn atmosphere_without_the_sysmodule_says_it_is_missing() {
        let (kind, _) = asked(Lookup::HasServiceFirst, &[]);
        assert_eq!(kind, ServerKind::SysmoduleMissing { single: false, indexed: false });
        let (kind, _) = asked(Lookup::HasServiceFirst, &[SINGLE.name]);
        assert_eq!(kind, ServerKind::SysmoduleMissing { single: true, indexed: false });
    }

    #[test]
    fn not_atmosphere_runs_in_process_without_asking_sm() {
        let (kind, names) = asked(Lookup::Direct, &[SINGLE.name, INDEXED.name]);
        assert_eq!(kind, ServerKind::InProcess);
        assert!(names.is_empty());
    }

    #[test]
    fn has_service_failure_is_passed_on() {
        assert_eq!(choose_server(Lookup::HasServiceFirst, |_| Err(7)), Err(7));
        assert_eq!(ServerKind::Sysmodule.to_string(), "sysmodule");
    }
}
