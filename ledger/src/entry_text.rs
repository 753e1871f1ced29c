//! The closed vocabulary of the descriptions Saldo writes on entries a prisoner sees. The entry
//! keeps its description as written (English, for auditors, never changed: entries are never
//! updated); a reader's page finds the text's code here and shows it in the reader's language.
//! A description outside the list (a payroll description staff typed) is shown as written.

/// One description Saldo writes, by its stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryText {
    CashAtIntake,
    FamilyDeposit,
    FamilyDepositHeldForReview,
    FamilyDepositAccepted,
    FamilyDepositRefunded,
    CardPurchase,
    CardPurchaseForcePost,
    CardRefund,
    SavingsToSpendableAtRelease,
    SavingsPaidOutAtRelease,
    FinalPayoutAfterRelease,
    PayoutOnClosing,
    Wages,
    Allowance,
    AdjustmentCorrection,
    AdjustmentRefund,
    AdjustmentWriteOff,
    AdjustmentSuspenseClearing,
    Adjustment,
    FeeProcessorProgram,
    FeeAtmWithdrawal,
    FeeCardReplacement,
    ServicePurchase,
    ServiceRefund,
    CallCreditTopUp,
    CallCharge,
    ServiceSubscriptionCharge,
    ServiceOfflinePurchase,
    CallCreditToSpendableAtRelease,
    ReleasePayoutByBankTransfer,
    ReleasePayoutInCash,
    PayoutReturnedByBank,
}

impl EntryText {
    pub const ALL: [EntryText; 32] = [
        EntryText::CashAtIntake,
        EntryText::FamilyDeposit,
        EntryText::FamilyDepositHeldForReview,
        EntryText::FamilyDepositAccepted,
        EntryText::FamilyDepositRefunded,
        EntryText::CardPurchase,
        EntryText::CardPurchaseForcePost,
        EntryText::CardRefund,
        EntryText::SavingsToSpendableAtRelease,
        EntryText::SavingsPaidOutAtRelease,
        EntryText::FinalPayoutAfterRelease,
        EntryText::PayoutOnClosing,
        EntryText::Wages,
        EntryText::Allowance,
        EntryText::AdjustmentCorrection,
        EntryText::AdjustmentRefund,
        EntryText::AdjustmentWriteOff,
        EntryText::AdjustmentSuspenseClearing,
        EntryText::Adjustment,
        EntryText::FeeProcessorProgram,
        EntryText::FeeAtmWithdrawal,
        EntryText::FeeCardReplacement,
        EntryText::ServicePurchase,
        EntryText::ServiceRefund,
        EntryText::CallCreditTopUp,
        EntryText::CallCharge,
        EntryText::ServiceSubscriptionCharge,
        EntryText::ServiceOfflinePurchase,
        EntryText::CallCreditToSpendableAtRelease,
        EntryText::ReleasePayoutByBankTransfer,
        EntryText::ReleasePayoutInCash,
        EntryText::PayoutReturnedByBank,
    ];

    pub fn code(self) -> &'static str {
        match self {
            EntryText::CashAtIntake => "cash_at_intake",
            EntryText::FamilyDeposit => "family_deposit",
            EntryText::FamilyDepositHeldForReview => "family_deposit_held_for_review",
            EntryText::FamilyDepositAccepted => "family_deposit_accepted",
            EntryText::FamilyDepositRefunded => "family_deposit_refunded",
            EntryText::CardPurchase => "card_purchase",
            EntryText::CardPurchaseForcePost => "card_purchase_force_post",
            EntryText::CardRefund => "card_refund",
            EntryText::SavingsToSpendableAtRelease => "savings_to_spendable_at_release",
            EntryText::SavingsPaidOutAtRelease => "savings_paid_out_at_release",
            EntryText::FinalPayoutAfterRelease => "final_payout_after_release",
            EntryText::PayoutOnClosing => "payout_on_closing",
            EntryText::Wages => "wages",
            EntryText::Allowance => "allowance",
            EntryText::AdjustmentCorrection => "adjustment_correction",
            EntryText::AdjustmentRefund => "adjustment_refund",
            EntryText::AdjustmentWriteOff => "adjustment_write_off",
            EntryText::AdjustmentSuspenseClearing => "adjustment_suspense_clearing",
            EntryText::Adjustment => "adjustment",
            EntryText::FeeProcessorProgram => "fee_processor_program",
            EntryText::FeeAtmWithdrawal => "fee_atm_withdrawal",
            EntryText::FeeCardReplacement => "fee_card_replacement",
            EntryText::ServicePurchase => "service_purchase",
            EntryText::ServiceRefund => "service_refund",
            EntryText::CallCreditTopUp => "call_credit_top_up",
            EntryText::CallCharge => "call_charge",
            EntryText::ServiceSubscriptionCharge => "service_subscription_charge",
            EntryText::ServiceOfflinePurchase => "service_offline_purchase",
            EntryText::CallCreditToSpendableAtRelease => "call_credit_to_spendable_at_release",
            EntryText::ReleasePayoutByBankTransfer => "release_payout_by_bank_transfer",
            EntryText::ReleasePayoutInCash => "release_payout_in_cash",
            EntryText::PayoutReturnedByBank => "payout_returned_by_bank",
        }
    }

    /// The description as the ledger stores it.
    pub fn english(self) -> &'static str {
        match self {
            EntryText::CashAtIntake => "Cash at intake",
            EntryText::FamilyDeposit => "family deposit",
            EntryText::FamilyDepositHeldForReview => "family deposit held for review",
            EntryText::FamilyDepositAccepted => "family deposit accepted after review",
            EntryText::FamilyDepositRefunded => "family deposit rejected and refunded",
            EntryText::CardPurchase => "card purchase",
            EntryText::CardPurchaseForcePost => "card purchase (force post)",
            EntryText::CardRefund => "card refund",
            EntryText::SavingsToSpendableAtRelease => "release savings to spendable at release",
            EntryText::SavingsPaidOutAtRelease => "release savings paid out at release",
            EntryText::FinalPayoutAfterRelease => "final payout after release",
            EntryText::PayoutOnClosing => "payout on closing the accounts",
            EntryText::Wages => "Wages",
            EntryText::Allowance => "Allowance",
            EntryText::AdjustmentCorrection => "Adjustment: correction",
            EntryText::AdjustmentRefund => "Adjustment: refund",
            EntryText::AdjustmentWriteOff => "Adjustment: write-off",
            EntryText::AdjustmentSuspenseClearing => "Adjustment: suspense clearing",
            EntryText::Adjustment => "Adjustment",
            EntryText::FeeProcessorProgram => "processor program fee",
            EntryText::FeeAtmWithdrawal => "ATM withdrawal fee",
            EntryText::FeeCardReplacement => "card replacement fee",
            EntryText::ServicePurchase => "prison service purchase",
            EntryText::ServiceRefund => "prison service refund",
            EntryText::CallCreditTopUp => "call credit top-up",
            EntryText::CallCharge => "phone calls",
            EntryText::ServiceSubscriptionCharge => "prison service subscription charge",
            EntryText::ServiceOfflinePurchase => "prison service purchase (offline)",
            EntryText::CallCreditToSpendableAtRelease => "call credit to spendable at release",
            EntryText::ReleasePayoutByBankTransfer => "release payout by bank transfer, instructed",
            EntryText::ReleasePayoutInCash => "release payout in cash at the gate",
            EntryText::PayoutReturnedByBank => "payout returned by the bank",
        }
    }

    /// The code of a stored description, if Saldo wrote it.
    pub fn of_description(description: &str) -> Option<EntryText> {
        EntryText::ALL
            .into_iter()
            .find(|text| text.english() == description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_its_own_code_and_is_found_again() {
        let mut codes: Vec<&str> = EntryText::ALL.iter().map(|t| t.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), EntryText::ALL.len());
        for text in EntryText::ALL {
            assert_eq!(EntryText::of_description(text.english()), Some(text));
        }
        assert_eq!(EntryText::of_description("Canteen bonus"), None);
    }
}
