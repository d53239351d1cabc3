/**
 * @file class_safety.h
 * Whether a file that decides what runs as root can be changed by
 * someone other than root: the class file, the executable and the
 * directories above the executable.
 */
#ifndef FSP_CLASS_SAFETY_H
#define FSP_CLASS_SAFETY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/**
 * Checks the owner and mode of one file or directory already stat'ed.
 * Trusted owners are root and the effective user of this process.
 *
 * @param what     how to call it in the message ("class file",
 *                 "executable", "directory").
 * @param problem  receives "what is wrong; how to fix it" if unsafe.
 * @return true if only trusted users can change it.
 */
bool fsp_class_is_safe(const char *what, const char *path,
                       const struct stat *st, char *problem,
                       size_t problem_size);

/**
 * Checks every directory above path (path itself not included), from
 * the root down, stopping at the first unsafe one.
 *
 * @return true if all are safe; false with problem filled in.
 */
bool fsp_class_parents_are_safe(const char *path, char *problem,
                                size_t problem_size);

#endif
