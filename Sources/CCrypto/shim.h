#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <openssl/md5.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
