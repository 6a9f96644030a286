#ifndef CHDF5SHIM_H
#define CHDF5SHIM_H
#include <hdf5.h>

/* libhdf5 spells these as macros over globals that are only valid after H5open();
   Swift cannot import such macros, so each is a function here. */
hid_t dl_h5t_native_float(void);
hid_t dl_h5t_native_double(void);
hid_t dl_h5t_native_int32(void);
hid_t dl_h5t_native_int64(void);
hid_t dl_h5t_native_uint8(void);
hid_t dl_h5t_c_s1(void);
hid_t dl_h5p_default(void);
hid_t dl_h5p_dataset_create(void);
hid_t dl_h5s_all(void);
unsigned dl_h5f_acc_trunc(void);
unsigned dl_h5f_acc_rdonly(void);
hid_t dl_h5t_native_int8(void);
hid_t dl_h5t_native_int16(void);
hid_t dl_h5t_native_uint16(void);
hid_t dl_h5p_link_create(void);
hid_t dl_h5p_file_access(void);
/* Every dataset path in the file, each followed by '\n', into buffer (truncated to size - 1,
   always NUL-terminated). Returns the length the full list needs, or -1 on failure. */
long dl_h5_list_datasets(hid_t file, char *buffer, size_t size);
/* Silences libhdf5's default error printing to stderr; dltrain reports errors itself. */
void dl_h5_silence_errors(void);

#endif
