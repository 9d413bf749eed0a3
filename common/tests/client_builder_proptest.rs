//! The client's request builder writes exactly what the CMIF builder writes for the same
//! request, word for word, and fails with the same error for the same bad request
//! (`xcbuf_common::client::build_request` is written for the common case, straight from
//! the buffers; `cmif::build_request` is the general one; horizon-ipc.md §1.4, §6.3).

use proptest::collection::vec;
use proptest::prelude::*;
use xcbuf_common::client::{self, Buffer, Call, ClientError, MAX_INPUTS, MAX_OUTPUTS};
use xcbuf_common::cmif::{self, CmifError, CommandType, OutPointer, RequestSpec};
use xcbuf_common::hipc::{Field, HipcError, PointerDescriptor, ReceiveListEntry, ReceiveListMode};

/// The request as the CMIF builder builds it: each buffer made a descriptor first (in
/// input, then output order), then the general builder.
fn reference(msg: &mut [u32], call: &Call<'_>) -> Result<usize, ClientError> {
    if call.inputs.len() > MAX_INPUTS {
        return Err(ClientError::Build(CmifError::Hipc(HipcError::FieldOverflow {
            field: Field::PointerCount,
            value: call.inputs.len() as u64,
            max: 15,
        })));
    }
    if call.outputs.len() > MAX_OUTPUTS {
        return Err(ClientError::Build(CmifError::TooManyOutPointers { count: call.outputs.len() }));
    }
    let xs = (0u8..)
        .zip(call.inputs)
        .map(|(i, b)| PointerDescriptor::new(i, b.address, b.size as u64))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClientError::Build(e.into()))?;
    let cs = call
        .outputs
        .iter()
        .map(|b| {
            ReceiveListEntry::new(b.address, b.size as u64).map(|entry| OutPointer { entry, has_size_entry: true })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClientError::Build(e.into()))?;
    let spec = RequestSpec {
        command_type: call.command_type,
        command_id: call.command_id,
        in_pointers: &xs,
        out_pointers: &cs,
        receive_list_mode: call.receive_list_mode,
        payload: call.args,
        ..RequestSpec::default()
    };
    cmif::build_request(msg, &spec).map_err(ClientError::Build)
}

fn buffer() -> impl Strategy<Value = Buffer> {
    // Mostly valid buffers, sometimes an address above 39 bits or a size above 16 bits.
    let address = prop_oneof![60 => 0u64..(1 << 39), 1 => (1u64 << 39)..=u64::MAX];
    let size = prop_oneof![60 => 0usize..=0xFFFF, 1 => 0x1_0000usize..0x10_0000];
    (address, size).prop_map(|(a, s)| Buffer::new(a, s))
}

fn mode() -> impl Strategy<Value = Option<ReceiveListMode>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(ReceiveListMode::None)),
        1 => Just(Some(ReceiveListMode::ToMessageBuffer)),
        1 => Just(Some(ReceiveListMode::ToSingleBuffer)),
        2 => (0u8..=15).prop_map(|n| Some(ReceiveListMode::Index(n))),
    ]
}

fn command_type() -> impl Strategy<Value = CommandType> {
    prop_oneof![Just(CommandType::Request), Just(CommandType::Control)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn client_builder_writes_what_the_cmif_builder_writes(
        inputs in prop_oneof![6 => vec(buffer(), 0..=4), 1 => vec(buffer(), 0..=17)],
        outputs in prop_oneof![6 => vec(buffer(), 0..=3), 1 => vec(buffer(), 0..=14)],
        args in prop_oneof![8 => vec(any::<u8>(), 0..=40), 1 => vec(any::<u8>(), 4060..=4110)],
        receive_list_mode in mode(),
        command_type in command_type(),
        command_id in any::<u32>(),
        words in 0usize..=64,
        fill in any::<u32>(),
    ) {
        let call = Call { command_type, command_id, inputs: &inputs, outputs: &outputs, args: &args, receive_list_mode };
        // Both start from the same stale words: what neither writes must stay as it was.
        let mut ours = vec![fill; words];
        let mut theirs = vec![fill; words];
        let got = client::build_request(&mut ours, &call);
        let want = reference(&mut theirs, &call);
        prop_assert_eq!(got, want);
        prop_assert_eq!(ours, theirs);
    }
}
