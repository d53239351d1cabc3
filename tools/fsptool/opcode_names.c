/*
 * opcode_names.c - FUSE opcode names for fsptool's output.
 *
 * The names come from the library's opcode table (src/dispatch/
 * op_table.c), so fsptool and the debug log always call an opcode the
 * same thing.
 */
#include "fsptool.h"
#include "op_table.h"

const char *fsptool_opcode_name(uint32_t opcode)
{
    return fsp_op_name(opcode);
}
