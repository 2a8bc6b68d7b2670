<?php
// SPDX-License-Identifier: MIT
// Edit this and save: jobd restarts the app once, and the new text answers.
function greeting(): string
{
    return 'hello from version 1';
}
