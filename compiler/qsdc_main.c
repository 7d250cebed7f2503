#include <stdio.h>
#include "qsdc.h"

int main(void)
{
    printf("qsdc %s\n", QSDC_VERSION);
    return 0;
}
