#include "CHDF5Shim.h"
#include <string.h>

hid_t dl_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
hid_t dl_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
hid_t dl_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
hid_t dl_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
hid_t dl_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
hid_t dl_h5t_c_s1(void) { return H5T_C_S1; }
hid_t dl_h5p_default(void) { return H5P_DEFAULT; }
hid_t dl_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
hid_t dl_h5s_all(void) { return H5S_ALL; }
unsigned dl_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
unsigned dl_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
void dl_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
hid_t dl_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
hid_t dl_h5t_native_int16(void) { return H5T_NATIVE_INT16; }
hid_t dl_h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
hid_t dl_h5p_link_create(void) { return H5P_LINK_CREATE; }
hid_t dl_h5p_file_access(void) { return H5P_FILE_ACCESS; }

struct listing { char *buffer; size_t size; size_t used; };

static herr_t collect(hid_t object, const char *name, const H5O_info_t *info, void *data) {
    (void)object;
    struct listing *l = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    size_t length = strlen(name);
    for (size_t i = 0; i <= length; i++) {  /* name, then '\n' in place of its NUL */
        if (l->used + 1 < l->size) l->buffer[l->used] = i < length ? name[i] : '\n';
        l->used++;
    }
    return 0;
}

long dl_h5_list_datasets(hid_t file, char *buffer, size_t size) {
    struct listing l = { buffer, size, 0 };
    if (size > 0) buffer[0] = 0;
    if (H5Ovisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, collect, &l) < 0) return -1;
    if (size > 0) buffer[l.used < size ? l.used : size - 1] = 0;
    return (long)l.used;
}
