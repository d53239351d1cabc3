/*
 * shell_quote.h - a path quoted for a shell, so that the commands suggested
 * in messages can be pasted as they are: the mount code's error messages
 * and fsptool doctor's fixes quote mount points the same way. Internal:
 * not part of <fsp/fsp.h>.
 */
#ifndef FSP_SHELL_QUOTE_H
#define FSP_SHELL_QUOTE_H

#include <stddef.h>

/*
 * Quotes @s for a shell when it holds anything but plain path characters
 * (letters, digits and "/._-+,:@%="): '...', each ' written as '\''. A
 * plain @s is copied as it is; an empty one becomes ''.
 *   @s     the text to quote (NUL-terminated)
 *   @out   where the result goes; always NUL-terminated when @size > 0,
 *          and cut short (quietly) when it does not fit
 *   @size  the size of @out in bytes
 * Returns nothing. No malloc.
 */
void fsp_shell_quote(const char *s, char *out, size_t size);

#endif /* FSP_SHELL_QUOTE_H */
