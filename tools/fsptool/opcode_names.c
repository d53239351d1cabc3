/*
 * opcode_names.c - FUSE opcode names for fsptool's output.
 *
 * The names come from the protocol layer (src/protocol/protocol.c), so fsptool and
 * the debug log always call an opcode the same thing.
 */
#include "fsptool.h"
#include "protocol.h"

const char *fsptool_opcode_name(uint32_t opcode)
{
    return fsp_proto_opcode_name(opcode);
}
