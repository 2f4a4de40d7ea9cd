#pragma once
#define LSTORE_VERSION "0.1.0"
